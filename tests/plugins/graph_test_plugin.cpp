// Node kinds and a router for graph-runtime tests:
//   test.write    returns its configured `update` (after `delay_ms`, on its own
//                 thread, like a node waiting on I/O); can emit an event and
//                 append its name to a file when it completes (crash tests)
//   test.counter  increments the `count` channel
//   test.fail     fails with the configured message
//   test.wait     waits until the run is cancelled
//   test.by_field (router) routes to the node named by a state field
#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "mx/plugin.hpp"

namespace {

// The threads the nodes and tools below answer on, joined when the host unloads this library
// (a static's destructor runs at dlclose): a detached thread still returning through this
// library's code, or the graph plugin's, after its answer ended the run crashed the test
// process once the test had unloaded them.
class AnswerThreads {
 public:
  template <class Work>
  void start(Work&& work) {
    std::lock_guard<std::mutex> lock(mutex_);
    reapFinished();
    auto finished = std::make_shared<std::atomic<bool>>(false);
    threads_.push_back({std::thread([work = std::forward<Work>(work), finished]() mutable {
                          work();
                          finished->store(true);
                        }),
                        finished});
  }
  bool unloading() const { return unloading_.load(); }
  ~AnswerThreads() {
    unloading_ = true;
    for (;;) {  // until no answer has started another
      std::vector<Answer> all;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        all.swap(threads_);
      }
      if (all.empty()) return;
      for (auto& answer : all) answer.thread.join();
    }
  }

 private:
  struct Answer {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };

  // A thread not joined keeps its stack: the finished ones are joined as new ones start.
  void reapFinished() {
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (it->finished->load()) {
        it->thread.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
  }

  std::mutex mutex_;
  std::vector<Answer> threads_;
  std::atomic<bool> unloading_{false};
};

AnswerThreads& answerThreads() {
  static AnswerThreads threads;
  return threads;
}

class WriteNode final : public mx::Node {
 public:
  explicit WriteNode(mx::Json config) : config_(std::move(config)) {}
  void run(std::shared_ptr<mx::NodeContext> context, mx::NodeDone done) override {
    int delay = config_["delay_ms"];
    answerThreads().start([config = config_, context, done = std::move(done), delay] {
      if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      if (context->cancel.isCancelled()) {
        done(mx::cancelledError("cancelled"));
        return;
      }
      if (!config["event"].get<std::string>().empty() && context->events) {
        context->events->emitJson(config["event"].get<std::string>(), {{"node", context->nodeName}});
      }
      std::string record = config["record_to"];
      if (!record.empty()) std::ofstream(record, std::ios::app) << context->nodeName << "\n";
      done(config["update"]);
    });
  }

 private:
  mx::Json config_;
};

class CounterNode final : public mx::Node {
 public:
  void run(std::shared_ptr<mx::NodeContext> context, mx::NodeDone done) override {
    int64_t count = context->state->value("count", int64_t{0});
    done(mx::Json{{"count", count + 1}});
  }
};

class FailNode final : public mx::Node {
 public:
  explicit FailNode(std::string message) : message_(std::move(message)) {}
  void run(std::shared_ptr<mx::NodeContext>, mx::NodeDone done) override { done(mx::unavailableError(message_)); }

 private:
  std::string message_;
};

class WaitNode final : public mx::Node {
 public:
  void run(std::shared_ptr<mx::NodeContext> context, mx::NodeDone done) override {
    auto fired = std::make_shared<std::atomic<bool>>(false);
    auto shared = std::make_shared<mx::NodeDone>(std::move(done));
    // Keep the subscription alive with the context until the run is cancelled.
    auto holder = std::make_shared<mx::Subscription>();
    *holder = context->cancel.onCancel([fired, shared] {
      if (!fired->exchange(true)) (*shared)(mx::cancelledError("stopped waiting: run cancelled"));
    });
    answerThreads().start([holder, context] {
      while (!context->cancel.isCancelled() && !answerThreads().unloading()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
};

class ByFieldRouter final : public mx::Router {
 public:
  explicit ByFieldRouter(std::string field) : field_(std::move(field)) {}
  mx::Result<std::vector<std::string>> route(const mx::Json& state) override {
    if (!state.contains(field_) || !state[field_].is_string()) {
      return mx::invalidArgumentError("state has no string \"" + field_ + "\"");
    }
    return std::vector<std::string>{state[field_].get<std::string>()};
  }

 private:
  std::string field_;
};

// A tool with a real schema ({"q": string, required}) that answers on its own thread.
class LookupTool final : public mx::Tool {
 public:
  LookupTool(std::string name, int delayMs) : name_(std::move(name)), delayMs_(delayMs) {}
  mx::ToolDefinition definition() const override {
    return {name_, "Looks something up",
            mx::Json::parse(R"({"type":"object","properties":{"q":{"type":"string"}},"required":["q"]})")};
  }
  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext>, mx::ToolDone done) override {
    answerThreads().start([arguments, done = std::move(done), delay = delayMs_] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      done(mx::Json{{"found", "result for " + arguments["q"].get<std::string>()}});
    });
  }

 private:
  std::string name_;
  int delayMs_;
};

template <class T>
mx::Result<std::unique_ptr<mx::Node>> make(std::unique_ptr<T> node) {
  return std::unique_ptr<mx::Node>(std::move(node));
}

}  // namespace

MX_PLUGIN("test_graph", "0.1.0", "Node kinds for graph-runtime tests") {
  mx::Factory<mx::Node> write;
  write.name = "test.write";
  write.schema = mx::ConfigSchema()
                     .optional("update", mx::ConfigType::Table, mx::Json::object(), "the update to return")
                     .optional("delay_ms", mx::ConfigType::Integer, 0, "wait before returning")
                     .optional("event", mx::ConfigType::String, "", "event to emit")
                     .optional("record_to", mx::ConfigType::String, "", "append the node name to this file");
  write.create = [](mx::ComponentContext& c) { return make(std::make_unique<WriteNode>(c.config())); };
  MX_RETURN_IF_ERROR(registrar.addNodeKind(std::move(write)));

  mx::Factory<mx::Node> counter;
  counter.name = "test.counter";
  counter.create = [](mx::ComponentContext&) { return make(std::make_unique<CounterNode>()); };
  MX_RETURN_IF_ERROR(registrar.addNodeKind(std::move(counter)));

  mx::Factory<mx::Node> fail;
  fail.name = "test.fail";
  fail.schema = mx::ConfigSchema().optional("message", mx::ConfigType::String, "boom", "error message");
  fail.create = [](mx::ComponentContext& c) { return make(std::make_unique<FailNode>(c.config()["message"])); };
  MX_RETURN_IF_ERROR(registrar.addNodeKind(std::move(fail)));

  mx::Factory<mx::Node> wait;
  wait.name = "test.wait";
  wait.create = [](mx::ComponentContext&) { return make(std::make_unique<WaitNode>()); };
  MX_RETURN_IF_ERROR(registrar.addNodeKind(std::move(wait)));

  mx::Factory<mx::Tool> lookup;
  lookup.name = "test.lookup";
  lookup.schema = mx::ConfigSchema()
                      .optional("name", mx::ConfigType::String, "lookup", "the name the model sees")
                      .optional("delay_ms", mx::ConfigType::Integer, 100, "time to answer");
  lookup.create = [](mx::ComponentContext& c) -> mx::Result<std::unique_ptr<mx::Tool>> {
    return std::unique_ptr<mx::Tool>(std::make_unique<LookupTool>(c.config()["name"], c.config()["delay_ms"]));
  };
  MX_RETURN_IF_ERROR(registrar.addTool(std::move(lookup)));

  mx::Factory<mx::Router> byField;
  byField.name = "test.by_field";
  byField.schema = mx::ConfigSchema().optional("field", mx::ConfigType::String, "route", "state field with the target");
  byField.create = [](mx::ComponentContext& c) -> mx::Result<std::unique_ptr<mx::Router>> {
    return std::unique_ptr<mx::Router>(std::make_unique<ByFieldRouter>(c.config()["field"]));
  };
  return registrar.addRouter(std::move(byField));
}
