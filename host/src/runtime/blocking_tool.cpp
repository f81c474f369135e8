#include "runtime/blocking_tool.hpp"

namespace mx::host {

namespace {

class BlockingTool final : public Tool {
 public:
  BlockingTool(std::shared_ptr<Tool> inner, WorkerPool& pool) : inner_(std::move(inner)), pool_(pool) {}

  ToolDefinition definition() const override { return inner_->definition(); }
  bool blocking() const override { return true; }
  Status health() override { return inner_->health(); }
  void shutdown() override { inner_->shutdown(); }

  void invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) override {
    pool_.runHereOrPost([inner = inner_, arguments = std::move(arguments), context = std::move(context), done = std::move(done)]() mutable {
      inner->invoke(std::move(arguments), std::move(context), std::move(done));
    });
  }

 private:
  std::shared_ptr<Tool> inner_;  // the guarded tool: it catches what the plugin throws
  WorkerPool& pool_;
};

}  // namespace

std::shared_ptr<Tool> runBlockingOn(std::shared_ptr<Tool> tool, WorkerPool& pool) {
  if (!tool->blocking()) return tool;
  return std::make_shared<BlockingTool>(std::move(tool), pool);
}

}  // namespace mx::host
