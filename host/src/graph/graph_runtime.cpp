#include "graph/graph_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

namespace mx::host {

const char* runStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::Completed: return "completed";
    case RunStatus::Interrupted: return "interrupted";
    case RunStatus::Cancelled: return "cancelled";
    case RunStatus::Failed: return "failed";
  }
  return "failed";
}

std::optional<Durability> parseDurability(std::string_view name) {
  if (name == "sync") return Durability::Sync;
  if (name == "async") return Durability::Async;
  if (name == "exit") return Durability::Exit;
  return std::nullopt;
}

namespace {

using Clock = std::chrono::steady_clock;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// `update` is moved from (a step's results are not read after they are applied).
Status applyUpdate(const GraphDefinition& graph, const std::string& node, Json& state, Json&& update) {
  if (update.is_null()) return Status::ok();
  if (!update.is_object()) return internalError("node \"" + node + "\" returned an update that is not an object");
  for (auto it = update.begin(); it != update.end(); ++it) {
    const std::string& channel = it.key();
    const ChannelSpec* spec = graph.channel(channel);
    if (spec == nullptr) return internalError("node \"" + node + "\" wrote undeclared channel \"" + channel + "\"");
    Status status = applyReducer(spec->reducer, spec->key, state[channel], std::move(it.value()));
    if (!status.isOk()) return status.withContext("node \"" + node + "\", channel \"" + channel + "\"");
  }
  return Status::ok();
}

Status applyUpdate(const GraphDefinition& graph, const std::string& node, Json& state, const Json& update) {
  return applyUpdate(graph, node, state, Json(update));
}

class RunExecution final : public std::enable_shared_from_this<RunExecution> {
 public:
  RunExecution(std::shared_ptr<const GraphDefinition> graph, WorkerPool& workers,
               std::shared_ptr<Checkpointer> checkpointer, Durability durability, CheckpointWriter* writer,
               std::shared_ptr<Logger> logger, RunRequest request, RunDone done)
      : graph_(std::move(graph)), workers_(workers), checkpointer_(std::move(checkpointer)), durability_(durability),
        writer_(writer), logger_(std::move(logger)), request_(std::move(request)), done_(std::move(done)),
        started_(Clock::now()) {}

  void startFresh() {
    state_ = request_.initialState.value_or(graph_->initialState());
    for (const auto& channel : graph_->channels) {
      if (!state_.contains(channel.name)) state_[channel.name] = channel.defaultValue;
    }
    Status status = applyUpdate(*graph_, "input", state_, request_.input);
    if (!status.isOk()) return finish(RunStatus::Failed, status.withContext("run input"));
    current_ = {graph_->entry};
    joins_ = Json::object();
    workers_.post([self = shared_from_this()] {
      WorkerPool::chargeCurrentTaskTo(self->cpuNs_);
      self->runStep();
    });
  }

  void startFrom(const Checkpoint& checkpoint) {
    state_ = checkpoint.state;
    current_ = checkpoint.next;
    step_ = checkpoint.step;
    joins_ = checkpoint.joins.is_object() ? checkpoint.joins : Json::object();
    Status status = applyUpdate(*graph_, "resume input", state_, request_.input);
    if (!status.isOk()) return finish(RunStatus::Failed, status);
    if (checkpoint.status == "interrupted" && checkpoint.interruptedAt.rfind("before:", 0) == 0) {
      skipInterruptBefore_ = std::set<std::string>(current_.begin(), current_.end());
    }
    loadPendingWrites_ = true;
    if (current_.empty()) return finish(RunStatus::Completed, Status::ok());
    workers_.post([self = shared_from_this()] {
      WorkerPool::chargeCurrentTaskTo(self->cpuNs_);
      self->runStep();
    });
  }

 private:
  void runStep() {
    if (request_.cancel.isCancelled()) {
      return saveAndFinish(RunStatus::Cancelled, cancelledError("run cancelled before step " + std::to_string(step_ + 1)), current_);
    }
    if (step_ >= graph_->recursionLimit) {
      return saveAndFinish(RunStatus::Failed,
                           failedPreconditionError("recursion limit of " + std::to_string(graph_->recursionLimit) +
                                                   " steps reached in graph \"" + graph_->name + "\" (next: " + join(current_) + ")"),
                           current_);
    }
    for (const auto& node : current_) {
      if (graph_->interruptBefore.count(node) && !skipInterruptBefore_.count(node)) {
        interruptedAt_ = "before:" + node;
        return saveAndFinish(RunStatus::Interrupted, Status::ok(), current_);
      }
    }
    skipInterruptBefore_.clear();
    std::map<std::string, Json> alreadyDone;
    if (loadPendingWrites_) {
      loadPendingWrites_ = false;
      auto writes = checkpointer_->pendingWrites(request_.threadId, request_.runId, step_);
      if (writes) {
        for (const auto& write : *writes) alreadyDone[write.node] = write.update;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      results_.clear();
      pending_ = current_.size();
      for (const auto& [node, update] : alreadyDone) {
        if (std::find(current_.begin(), current_.end(), node) != current_.end()) {
          results_.emplace(node, Result<Json>(update));
          --pending_;
        }
      }
      stepFirstStart_ = stepLastDone_ = Clock::time_point{};
      if (pending_ == 0) {
        workers_.post([self = shared_from_this()] {
          WorkerPool::chargeCurrentTaskTo(self->cpuNs_);
          self->finishStep();
        });
        return;
      }
    }
    for (const auto& name : current_) {
      if (alreadyDone.count(name)) continue;
      workers_.post([self = shared_from_this(), name] {
        WorkerPool::chargeCurrentTaskTo(self->cpuNs_);
        self->runNode(name);
      });
    }
  }

  void runNode(const std::string& name) {
    const NodeSpec* spec = graph_->node(name);
    auto context = std::make_shared<NodeContext>();
    context->nodeName = name;
    context->runId = request_.runId;
    context->threadId = request_.threadId;
    context->userId = request_.userId;
    context->state = &state_;  // not modified while the step's nodes run
    context->events = request_.events;
    context->usage = request_.usage;
    context->cancel = request_.cancel;
    auto startedAt = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stepFirstStart_ == Clock::time_point{}) stepFirstStart_ = startedAt;  // the first node of this step
    }
    std::string spanId;
    if (request_.tracer) spanId = request_.tracer->startSpan({name, "chain", "", "", Json::object()});
    auto self = shared_from_this();
    spec->instance->run(context, [self, name, startedAt, spanId, context](Result<Json> result) {
      self->nodeDone(name, startedAt, spanId, std::move(result));
    });
  }

  void nodeDone(const std::string& name, Clock::time_point startedAt, const std::string& spanId, Result<Json> result) {
    auto finishedAt = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stepLastDone_ = std::max(stepLastDone_, finishedAt);
    }
    NodeTiming timing{name, step_,
                      std::chrono::duration<double, std::milli>(startedAt - started_).count(),
                      std::chrono::duration<double, std::milli>(finishedAt - startedAt).count(),
                      result.isOk() ? "ok" : std::string(codeName(result.status().code()))};
    if (request_.tracer) request_.tracer->endSpan(spanId, result.isOk() ? *result : nullJson(), result.status());
    // Durable before it counts (sync): a crash after this point will not run the node again.
    workers_.post([self = shared_from_this(), name, timing, result = std::move(result)]() mutable {
      WorkerPool::chargeCurrentTaskTo(self->cpuNs_);
      if (result.isOk()) self->savePendingWrite(name, *result);
      bool last;
      {
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->timings_.push_back(timing);
        self->results_.insert_or_assign(name, std::move(result));
        last = --self->pending_ == 0;
        if (last) self->nodeWaitMs_ += std::chrono::duration<double, std::milli>(self->stepLastDone_ - self->stepFirstStart_).count();
      }
      if (last) self->finishStep();
    });
  }

  void finishStep() {
    Status failure;
    std::vector<std::string> unfinished;
    for (const auto& name : current_) {
      Result<Json>& result = results_.at(name);
      if (result.isOk()) {  // successful updates count even when a sibling failed
        Status applied = applyUpdate(*graph_, name, state_, std::move(*result));
        if (!applied.isOk() && failure.isOk()) failure = applied;
      } else {
        unfinished.push_back(name);
        if (failure.isOk() || result.status().code() == Code::Cancelled) {
          failure = result.status().code() == Code::Cancelled
                        ? result.status()
                        : Status(result.status().code(), "node \"" + name + "\" failed: " + result.status().message());
        }
      }
    }
    if (!failure.isOk()) {
      bool cancelled = failure.code() == Code::Cancelled || request_.cancel.isCancelled();
      return saveAndFinish(cancelled ? RunStatus::Cancelled : RunStatus::Failed, failure,
                           unfinished.empty() ? current_ : unfinished);
    }
    ++step_;
    auto next = computeNext();
    if (!next) return saveAndFinish(RunStatus::Failed, next.status(), {});
    for (const auto& node : current_) {
      if (graph_->interruptAfter.count(node)) {
        interruptedAt_ = "after:" + node;
        return saveAndFinish(RunStatus::Interrupted, Status::ok(), *next);
      }
    }
    if (next->empty()) return saveAndFinish(RunStatus::Completed, Status::ok(), {});
    if (durability_ == Durability::Sync) {
      Status saved = save("running", *next, "");
      if (!saved.isOk()) return finish(RunStatus::Failed, saved.withContext("saving checkpoint"));
    } else if (durability_ == Durability::Async) {
      writer_->save(checkpointCopy("running", *next, ""));
    }
    current_ = std::move(*next);
    runStep();
  }

  Result<std::vector<std::string>> computeNext() {
    std::vector<std::string> next;
    auto add = [&](const std::string& node) {
      if (node != kEnd && std::find(next.begin(), next.end(), node) == next.end()) next.push_back(node);
    };
    std::set<std::string> ran(current_.begin(), current_.end());
    for (const auto& edge : graph_->edges) {
      if (edge.isJoin()) {
        Json& seen = joins_[edge.to];
        if (!seen.is_array()) seen = Json::array();
        for (const auto& from : edge.from) {
          if (ran.count(from) && std::find(seen.begin(), seen.end(), Json(from)) == seen.end()) seen.push_back(from);
        }
        if (seen.size() == edge.from.size()) {
          add(edge.to);
          joins_.erase(edge.to);
        }
        continue;
      }
      if (!ran.count(edge.from.front())) continue;
      if (!edge.router.empty()) {
        auto routed = edge.routerInstance->route(state_);
        if (!routed) return Status(routed.status().code(), "router \"" + edge.router + "\" failed: " + routed.status().message());
        for (const auto& target : *routed) {
          if (target != kEnd && std::find(edge.targets.begin(), edge.targets.end(), target) == edge.targets.end()) {
            return internalError("router \"" + edge.router + "\" returned \"" + target + "\", not one of its targets");
          }
          add(target);
        }
      } else if (!edge.when || edge.when->evaluate(state_)) {
        add(edge.to);
      }
    }
    return next;
  }

  void savePendingWrite(const std::string& node, const Json& update) {
    if (durability_ == Durability::Exit) return;
    PendingWrite write{request_.threadId, request_.runId, step_, node, update};
    if (durability_ == Durability::Async) return writer_->saveWrite(std::move(write));
    Status saved = checkpointer_->saveWrite(write);
    if (!saved.isOk()) logger_->warn("pending write of node \"" + node + "\" not saved: " + saved.toString());
  }

  Checkpoint checkpointOf(const std::string& status, const std::vector<std::string>& next, const std::string& error, Json state) {
    Checkpoint checkpoint;
    checkpoint.threadId = request_.threadId;
    checkpoint.runId = request_.runId;
    checkpoint.step = step_;
    checkpoint.status = status;
    checkpoint.state = std::move(state);
    checkpoint.next = next;
    checkpoint.joins = joins_;
    checkpoint.error = error;
    checkpoint.interruptedAt = interruptedAt_;
    checkpoint.createdAtMs = nowMs();
    return checkpoint;
  }

  // Async: the writer saves while the run goes on, so it gets its own copy of the state.
  Checkpoint checkpointCopy(const std::string& status, const std::vector<std::string>& next, const std::string& error) {
    return checkpointOf(status, next, error, state_);
  }

  // `keepStateText`: the run's last save; when the checkpointer takes the
  // text, the state's part of it is kept for the outcome (the session cache
  // stores the same text: the state is serialized once, not twice).
  Status save(const std::string& status, const std::vector<std::string>& next, const std::string& error,
              bool keepStateText = false) {
    // Lent, not copied: no node runs while a step's checkpoint is saved, and
    // the state (the whole conversation) would otherwise be copied per step.
    Checkpoint checkpoint = checkpointOf(status, next, error, std::move(state_));
    Status saved;
    auto* textSaver = keepStateText ? dynamic_cast<CheckpointTextSaver*>(checkpointer_.get()) : nullptr;
    if (textSaver != nullptr) {
      size_t stateAt = 0, stateLength = 0;
      std::string text = checkpointText(checkpoint, &stateAt, &stateLength);
      saved = textSaver->saveText(checkpoint, text);
      text.erase(stateAt + stateLength);
      text.erase(0, stateAt);
      stateText_ = std::move(text);
    } else {
      saved = checkpointer_->save(checkpoint);
    }
    state_ = std::move(checkpoint.state);
    return saved;
  }

  // The last checkpoint, written for the caller to save (RunRequest::handOverFinalCheckpoint).
  void handOver(const std::string& status, const std::vector<std::string>& next, const std::string& error) {
    Checkpoint checkpoint = checkpointOf(status, next, error, std::move(state_));
    FinalCheckpoint final;
    final.text = checkpointText(checkpoint, &final.stateAt, &final.stateLength);
    state_ = std::move(checkpoint.state);
    checkpoint.state = Json();
    final.checkpoint = std::move(checkpoint);
    finalCheckpoint_ = std::move(final);
  }

  void saveAndFinish(RunStatus status, Status error, std::vector<std::string> next) {
    if (durability_ == Durability::Async) {
      // After the run's earlier checkpoints (the writer keeps order); the run finishes once it is saved.
      writer_->save(checkpointCopy(runStatusName(status), next, error.isOk() ? "" : error.toString()),
                    [self = shared_from_this(), status, error, next](Status saved) mutable {
                      self->workers_.post([self, status, error = std::move(error), next = std::move(next), saved]() mutable {
                        WorkerPool::chargeCurrentTaskTo(self->cpuNs_);
                        if (!saved.isOk()) self->logger_->error("run " + self->request_.runId + ": checkpoint not saved: " + saved.toString());
                        self->next_ = std::move(next);
                        self->finish(status, std::move(error));
                      });
                    });
      return;
    }
    if (request_.handOverFinalCheckpoint) {
      handOver(runStatusName(status), next, error.isOk() ? "" : error.toString());
    } else {
      Status saved = save(runStatusName(status), next, error.isOk() ? "" : error.toString(), true);
      if (!saved.isOk()) logger_->error("run " + request_.runId + ": checkpoint not saved: " + saved.toString());
    }
    next_ = std::move(next);
    finish(status, std::move(error));
  }

  void finish(RunStatus status, Status error) {
    RunOutcome outcome;
    outcome.status = status;
    outcome.error = std::move(error);
    outcome.state = std::move(state_);  // the run is over: no step reads it again
    outcome.stateText = std::move(stateText_);
    outcome.finalCheckpoint = std::move(finalCheckpoint_);
    outcome.next = next_;
    outcome.steps = step_;
    outcome.interruptedAt = interruptedAt_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outcome.timings = timings_;
      outcome.nodeWaitMs = nodeWaitMs_;
    }
    outcome.wallMs = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    outcome.runtimeCpuMs = static_cast<double>(cpuNs_.load(std::memory_order_relaxed)) / 1e6;
    auto done = std::move(done_);
    done(std::move(outcome));
  }

  static std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  std::shared_ptr<const GraphDefinition> graph_;
  WorkerPool& workers_;
  std::shared_ptr<Checkpointer> checkpointer_;
  Durability durability_;
  CheckpointWriter* writer_;  // async only; outlives the run (the runtime owns it)
  std::shared_ptr<Logger> logger_;
  RunRequest request_;
  RunDone done_;
  Clock::time_point started_;
  Json state_;
  std::string stateText_;  // set by the last save (see save)
  std::optional<FinalCheckpoint> finalCheckpoint_;  // set by handOver
  std::vector<std::string> current_;
  std::vector<std::string> next_;
  int64_t step_ = 0;
  Json joins_ = Json::object();
  std::set<std::string> skipInterruptBefore_;
  bool loadPendingWrites_ = false;
  std::string interruptedAt_;
  std::mutex mutex_;
  size_t pending_ = 0;
  std::map<std::string, Result<Json>> results_;
  std::vector<NodeTiming> timings_;
  // The current step's wait on its nodes: first node start to last node done (guarded by mutex_).
  Clock::time_point stepFirstStart_;
  Clock::time_point stepLastDone_;
  double nodeWaitMs_ = 0;
  std::atomic<int64_t> cpuNs_{0};
};

}  // namespace

GraphRuntime::GraphRuntime(WorkerPool& workers, std::shared_ptr<Checkpointer> checkpointer, std::shared_ptr<Logger> logger,
                           Durability durability)
    : workers_(workers), checkpointer_(std::move(checkpointer)), logger_(std::move(logger)), durability_(durability) {
  if (durability_ == Durability::Async) writer_ = std::make_unique<CheckpointWriter>(checkpointer_, logger_);
}

GraphRuntime::~GraphRuntime() = default;

void GraphRuntime::start(std::shared_ptr<const GraphDefinition> graph, RunRequest request, RunDone done) {
  auto run = std::make_shared<RunExecution>(std::move(graph), workers_, checkpointer_, durability_, writer_.get(), logger_,
                                            std::move(request), std::move(done));
  run->startFresh();
}

void GraphRuntime::resume(std::shared_ptr<const GraphDefinition> graph, RunRequest request, RunDone done) {
  auto checkpoint = checkpointer_->latest(request.threadId, request.runId);
  if (!checkpoint) {
    RunOutcome outcome;
    outcome.status = RunStatus::Failed;
    outcome.error = checkpoint.status();
    done(std::move(outcome));
    return;
  }
  if (checkpoint->status == "completed") {
    RunOutcome outcome;
    outcome.status = RunStatus::Failed;
    outcome.error = failedPreconditionError("run " + request.runId + " has already completed");
    outcome.state = checkpoint->state;
    done(std::move(outcome));
    return;
  }
  auto run = std::make_shared<RunExecution>(std::move(graph), workers_, checkpointer_, durability_, writer_.get(), logger_,
                                            std::move(request), std::move(done));
  run->startFrom(*checkpoint);
}

}  // namespace mx::host
