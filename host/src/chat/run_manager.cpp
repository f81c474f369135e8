#include "chat/run_manager.hpp"

#include "chat/run_saving.hpp"
#include "mx/record_id.hpp"
#include "runtime/thread_name.hpp"

#include <sstream>

namespace mx::host::chat {

int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

std::string titleFrom(const std::string& message) {
  std::string title = message.substr(0, 60);
  for (char& c : title) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return message.size() > 60 ? title + "..." : title;
}

std::string lastAssistantText(const Json& state) {
  if (!state.contains("messages") || !state["messages"].is_array()) return "";
  for (auto it = state["messages"].rbegin(); it != state["messages"].rend(); ++it) {
    Message message = messageFromJson(*it);
    if (message.role != Role::Assistant) continue;
    std::string text;
    for (const auto& block : message.content) {
      if (block.type == BlockType::Text) text += block.text;
    }
    return text;
  }
  return "";
}

// An admitted turn's place in maxLiveRuns, given back if the turn does not start.
struct PlaceUntilStarted {
  std::atomic<size_t>& admitted;
  bool started = false;
  explicit PlaceUntilStarted(std::atomic<size_t>& count) : admitted(count) {}
  PlaceUntilStarted(const PlaceUntilStarted&) = delete;
  PlaceUntilStarted& operator=(const PlaceUntilStarted&) = delete;
  ~PlaceUntilStarted() {
    if (!started) admitted.fetch_sub(1, std::memory_order_relaxed);
  }
};

int64_t countWords(const std::string& text) {
  std::istringstream in(text);
  int64_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

// A finished run's events as the store keeps them: its sealed log, then `done`.
RunEventBatch storedEvents(const RunLog& log, std::string_view done) {
  RunEventBatchWriter events;
  size_t logged = log.writeEvents(events);
  events.add(static_cast<int64_t>(logged) + 1, "done", done);
  return std::move(events).finish();
}

}  // namespace

RunManager::RunManager(Deployment& deployment, ChatSettings settings, std::shared_ptr<Store> store,
                       std::shared_ptr<Logger> logger)
    : deployment_(deployment),
      settings_(std::move(settings)),
      store_(std::move(store)),
      checkpointsInStore_(deployment_.checkpointStore() != nullptr && deployment_.checkpointStore() == store_),
      checkpointsFromText_(dynamic_cast<CheckpointTextSaver*>(deployment_.checkpointer().get()) != nullptr),
      logger_(std::move(logger)),
      session_(settings_.sessionCache, settings_.sessionTtl),
      saves_(settings_.runsPerSave, [this](std::vector<PendingSave>& batch) { saveFinished(batch); },
             [this](std::function<void()> rest) { return deployment_.blockingWork().post(std::move(rest)); }) {
  housekeeper_ = std::thread([this] {
    nameThisThread("mx-housekeeper");
    housekeeping();
  });
}

RunManager::~RunManager() { shutdown(std::chrono::milliseconds(0)); }

size_t RunManager::activeRuns() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_.size();
}

size_t RunManager::runsInMemory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_.size();
}

bool RunManager::nearDescriptorLimit() const {
  uint64_t limit = settings_.descriptorLimit;
  return limit != 0 && openDescriptors_.load(std::memory_order_relaxed) >= limit - limit / 20;
}

void RunManager::countDescriptors() {
  if (settings_.countOpenDescriptors) openDescriptors_.store(settings_.countOpenDescriptors(), std::memory_order_relaxed);
}

bool RunManager::atTurnLimit(size_t admitted) const { return settings_.maxLiveRuns != 0 && admitted >= settings_.maxLiveRuns; }

bool RunManager::admit() {
  if (nearDescriptorLimit()) return false;
  size_t now = admitted_.load(std::memory_order_relaxed);
  do {
    if (atTurnLimit(now)) return false;
  } while (!admitted_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return true;
}

Status RunManager::countRefusal() {
  refused_.fetch_add(1, std::memory_order_relaxed);
  if (nearDescriptorLimit()) {
    return unavailableError("the server is near its limit of " + std::to_string(settings_.descriptorLimit) +
                            " open descriptors: retry shortly");
  }
  return unavailableError("the server is at its limit of " + std::to_string(settings_.maxLiveRuns) +
                          " turns in progress: retry shortly");
}

Status RunManager::refuseIfFull() {
  if (!atTurnLimit(admitted_.load(std::memory_order_relaxed)) && !nearDescriptorLimit()) return Status::ok();
  return countRefusal();
}

Result<std::shared_ptr<ActiveRun>> RunManager::startTurn(const TurnRequest& turn,
                                                         std::function<void(const std::shared_ptr<ActiveRun>&)> attach,
                                                         std::function<void(const Status&)> refused) {
  if (draining_) return unavailableError("the server is shutting down: no new turns");
  if (!admit()) return countRefusal();
  PlaceUntilStarted place{admitted_};  // a run that starts gives its place back when it finishes
  auto graph = deployment_.graph(settings_.graph);
  if (!graph) return failedPreconditionError("the chat graph \"" + settings_.graph + "\" is not configured");
  int64_t now = nowMillis();
  ConversationRecord conversation;
  std::optional<Json> initialState;
  if (turn.conversationId.empty()) {
    conversation = {newRecordId("conv_"), turn.userId, titleFrom(turn.message), 0, now, now};
  } else {
    auto found = store_->getConversation(turn.userId, turn.conversationId);
    if (!found) return found.status();
    conversation = *found;
    initialState = session_.load(turn.userId, conversation.id);
    if (!initialState) initialState = lastCompletedState(conversation.id);
  }
  auto run = std::make_shared<ActiveRun>();
  run->id = newRecordId("run_");
  run->userId = turn.userId;
  run->conversationId = conversation.id;
  if (initialState) (*initialState)["usage"] = Json::object();  // usage is per run
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runs_[run->id] = run;
    live_[run->id] = run;
  }
  RunRequest request;
  request.threadId = conversation.id;
  request.runId = run->id;
  request.userId = turn.userId;
  request.initialState = initialState;
  request.input = {{"messages", Json::array({{{"role", "user"}, {"content", turn.message}}})}};
  if (graph->channel("modelPreference")) request.input["modelPreference"] = turn.modelPreference;
  if (graph->channel("context")) request.input["context"] = turn.context.is_object() ? turn.context : Json::object();
  request.events = run->log.get();
  request.usage = &run->usage;
  request.cancel = run->cancel.token();
  request.handOverFinalCheckpoint = true;  // saved with the run's records (finish), or apart (discard)
  place.started = true;
  deployment_.runtime().start(graph, std::move(request), [this, run](RunOutcome outcome) {
    run->outcome = std::move(outcome);
    finishWhenBothOver(run);
  });
  // The save is a task of the blocking pool, so that it does not hold up the first model call, which
  // the graph's first step, just posted to the graph workers, starts meanwhile.
  MessageRecord message{newRecordId("msg_"), conversation.id, turn.userId, "user", turn.message, run->id, Json::object(), now};
  deployment_.blockingWork().post([this, run, conversation, message = std::move(message), attach = std::move(attach),
                                     refused = std::move(refused)] { recordTurn(run, conversation, message, attach, refused); });
  return run;
}

void RunManager::recordTurn(const std::shared_ptr<ActiveRun>& run, const ConversationRecord& conversation,
                            const MessageRecord& message, const std::function<void(const std::shared_ptr<ActiveRun>&)>& attach,
                            const std::function<void(const Status&)>& refused) {
  Result<int64_t> count = beginTurn(*store_, conversation, message);  // the store is guarded: no exception
  try {
    if (count) {
      run->messageCount = *count;
      run->recorded = true;
      if (attach) attach(run);
    } else {
      run->cancel.cancel("the turn was not recorded");
      if (refused) refused(count.status());
    }
  } catch (const std::exception& e) {  // the run still finishes, whatever its watcher did
    logger_->error("run " + run->id + ": attaching its stream failed: " + e.what());
  }
  finishWhenBothOver(run);
}

void RunManager::finishWhenBothOver(const std::shared_ptr<ActiveRun>& run) {
  // acq_rel: the call that finishes sees what the other wrote (the outcome, or the message count).
  if (run->untilFinish.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  RunOutcome outcome = std::move(*run->outcome);
  run->outcome.reset();
  // The records are saved where blocking work runs: the graph's last step ends on a graph worker
  // (at shutdown, once that pool has stopped, here: saved late rather than lost).
  deployment_.blockingWork().runHereOrPost(
      [this, run, outcome = std::move(outcome)]() mutable { finishRecorded(run, std::move(outcome)); });
}

void RunManager::finishRecorded(const std::shared_ptr<ActiveRun>& run, RunOutcome outcome) {
  if (!run->recorded) return discard(run, outcome);
  finish(run, std::move(outcome));
}

void RunManager::discard(const std::shared_ptr<ActiveRun>& run, const RunOutcome& outcome) {
  if (settings_.metrics != nullptr) {  // its model calls may have cost something: counted, as a cancelled run
    settings_.metrics->recordRun({runStatusName(RunStatus::Cancelled), outcome.wallMs, outcome.nodeWaitMs, outcome.runtimeCpuMs, 0,
                                  run->usage.toJson()});
  }
  run->log->seal();  // a tool that outlives the run adds nothing
  if (outcome.finalCheckpoint) {
    Status saved = saveCheckpoint(*deployment_.checkpointer(), *outcome.finalCheckpoint, outcome.state);
    if (!saved.isOk()) logger_->error("run " + run->id + ": checkpoint not saved: " + saved.toString());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(run->id);
    runs_.erase(run->id);
  }
  admitted_.fetch_sub(1, std::memory_order_relaxed);
  run->finished = true;
  runFinished_.notify_all();
}

// The run's records, its last events (message or error, then done) and its
// event log are saved together, before `done` reaches the client: a client
// that reads the conversation after `done` finds everything in it. They go
// through saves_: at once when no other save is going on, else with the runs
// that finished meanwhile, in one call of the store (group commit).
void RunManager::finish(const std::shared_ptr<ActiveRun>& run, RunOutcome outcome) {
  bool completed = outcome.status == RunStatus::Completed;
  RunRecord record{run->userId, run->conversationId, run->id, {}, std::nullopt, nowMillis(), {}};
  bool artifactIncomplete = false;
  for (const auto& draft : run->log->artifacts()) {
    bool incomplete = !completed || !draft.ended || draft.incomplete;
    artifactIncomplete = artifactIncomplete || incomplete;
    record.artifacts.push_back({draft.id, run->conversationId, run->userId, run->id, draft.contentType, draft.content,
                                draft.ended ? draft.wordCount : countWords(draft.content), incomplete ? "incomplete" : "complete",
                                Json::object(), nowMillis()});
  }
  int64_t messageCount = run->messageCount;
  Json usage = run->usage.toJson();  // every model call of the run, Tier 2 and interrupted ones included
  if (completed) {
    std::string messageId = newRecordId("msg_");
    std::string text = lastAssistantText(outcome.state);
    record.assistantMessage = MessageRecord{messageId, run->conversationId, run->userId, "assistant", text, run->id,
                                            {{"usage", usage}, {"steps", outcome.steps}}, nowMillis()};
    ++messageCount;
    run->log->emitJson("message", {{"role", "assistant"}, {"content", text}, {"messageId", messageId}});
    if (artifactIncomplete) {  // the model answered, but an artifact was cut: never a clean end
      std::string failed;
      for (const auto& draft : run->log->artifacts()) {
        if (!draft.ended || draft.incomplete) failed += (failed.empty() ? "" : ", ") + draft.id;
      }
      run->log->emitJson("error", {{"code", "artifact_incomplete"},
                                   {"message", "artifact " + failed + " is incomplete: its writer failed before finishing"},
                                   {"artifactIncomplete", true},
                                   {"usage", usage}});
    }
  } else {
    std::string code = outcome.status == RunStatus::Cancelled ? "cancelled" : std::string(codeName(outcome.error.code()));
    if (outcome.status == RunStatus::Interrupted) code = "interrupted";
    run->log->emitJson("error", {{"code", code},
                                 {"message", outcome.error.isOk() ? std::string(runStatusName(outcome.status)) : outcome.error.message()},
                                 {"artifactIncomplete", artifactIncomplete},
                                 {"usage", usage}});
  }
  // `done` is saved with the rest and sent once they are saved; the log is
  // sealed first, so no late event (a tool that outlived its run) takes its number.
  std::string done = jsonText(Json{{"conversationId", run->conversationId}, {"messageCount", messageCount}});
  run->log->seal();
  if (settings_.metrics != nullptr) {
    settings_.metrics->recordRun({runStatusName(outcome.status), outcome.wallMs, outcome.nodeWaitMs, outcome.runtimeCpuMs,
                                  run->log->eventCount() + 1, std::move(usage)});  // with `done`; usage's last use
  }
  // A run waiting for its save (in a burst of runs that end at once, hundreds) keeps its state as
  // text alone when the text serves its checkpoint and the session cache: the tree is several times
  // the size of its text.
  if (onlyStateTextNeeded(outcome)) outcome.state = Json();
  saves_.submit(PendingSave{run, std::move(record), std::move(outcome), std::move(done)});
}

bool RunManager::onlyStateTextNeeded(const RunOutcome& outcome) const {
  return !outcome.stateTextView().empty() && (!outcome.finalCheckpoint || checkpointsFromText_);
}

void RunManager::saveFinished(std::vector<PendingSave>& batch) {
  // Written here, when their save begins, not when each run finished: a run waiting for a save
  // (a burst of runs ending at once) holds its log alone, not a second copy of its events.
  for (auto& pending : batch) pending.record.events = storedEvents(*pending.run->log, pending.done);
  std::vector<Status> saved = saveBatch(batch);
  for (size_t i = 0; i < batch.size(); ++i) endSaved(batch[i], saved[i]);
}

std::vector<Status> RunManager::saveBatch(std::vector<PendingSave>& batch) {
  runsSaved_.fetch_add(batch.size(), std::memory_order_relaxed);
  if (batch.size() > 1) {
    if (auto saved = saveTogether(batch)) {
      runSaveCalls_.fetch_add(1, std::memory_order_relaxed);
      return std::move(*saved);
    }
  }
  runSaveCalls_.fetch_add(batch.size(), std::memory_order_relaxed);
  std::vector<Status> saved;  // one by one: a single run, or a store without batches
  saved.reserve(batch.size());
  for (auto& pending : batch) saved.push_back(saveRecords(pending.run, pending.record, pending.outcome));
  return saved;
}

std::optional<std::vector<Status>> RunManager::saveTogether(std::vector<PendingSave>& batch) {
  auto* batches = dynamic_cast<RunBatchStore*>(store_.get());
  if (batches == nullptr) return std::nullopt;
  std::vector<RunSave> saves;
  saves.reserve(batch.size());
  for (auto& pending : batch) {
    const auto& checkpoint = pending.outcome.finalCheckpoint;
    if (checkpoint && !checkpointsInStore_) return std::nullopt;  // saved apart, by saveRecords
    saves.push_back({&pending.record, checkpoint ? &checkpoint->checkpoint : nullptr, checkpoint ? &checkpoint->text : nullptr});
  }
  std::vector<Status> saved = batches->saveRuns(saves);
  if (saved.front().code() == Code::Unimplemented) return std::nullopt;  // the guard's answer for a store without batches
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!saved[i].isOk()) logNotSaved(batch[i].run->id, saves[i].checkpoint != nullptr, saved[i]);
  }
  return saved;
}

void RunManager::endSaved(PendingSave& pending, const Status& saved) {
  const auto& run = pending.run;
  const RunOutcome& outcome = pending.outcome;
  const std::string& done = pending.done;
  bool completed = outcome.status == RunStatus::Completed;
  std::string_view stateText = outcome.stateTextView();
  if (completed && !stateText.empty()) {
    session_.saveText(run->userId, run->conversationId, stateText);
  } else if (completed) {
    session_.save(run->userId, run->conversationId, outcome.state);
  }
  {
    // No longer active before `done` can reach a client: one that reads /metrics after it sees 0.
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(run->id);
    // Only a run whose events the store did not take stays for the replay window; a stored one
    // is replayed from the store and leaves nothing behind.
    if (!saved.isOk()) finishedOrder_.emplace_back(std::chrono::steady_clock::now(), run->id);
  }
  admitted_.fetch_sub(1, std::memory_order_relaxed);
  run->log->finishWith("done", done);
  run->finished = true;
  if (saved.isOk()) {
    run->log->releaseEvents();  // replayed from the store from now on
    std::lock_guard<std::mutex> lock(mutex_);
    runs_.erase(run->id);
  }
  runFinished_.notify_all();
}

Status RunManager::saveRecords(const std::shared_ptr<ActiveRun>& run, const RunRecord& record, const RunOutcome& outcome) {
  if (!outcome.finalCheckpoint) {
    Status saved = saveRun(*store_, record);
    if (!saved.isOk()) logNotSaved(run->id, false, saved);
    return saved;
  }
  CheckpointSaving checkpoint;
  Status saved = saveRun(*store_, record, *outcome.finalCheckpoint, outcome.state, {*deployment_.checkpointer(), checkpointsInStore_},
                         checkpoint);
  if (!checkpoint.apart.isOk()) logger_->error("run " + run->id + ": checkpoint not saved: " + checkpoint.apart.toString());
  if (!saved.isOk()) logNotSaved(run->id, checkpoint.together, saved);
  return saved;
}

void RunManager::logNotSaved(const std::string& runId, bool withCheckpoint, const Status& saved) const {
  logger_->error("run " + runId + ": not saved (artifacts, message, event log" + (withCheckpoint ? ", checkpoint" : "") +
                 "): " + saved.toString());
}

std::optional<Json> RunManager::lastCompletedState(const std::string& conversationId) {
  auto history = deployment_.checkpointer()->history(conversationId);
  if (!history) return std::nullopt;
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    if (it->status == "completed") return it->state;
  }
  return std::nullopt;
}

Status RunManager::deleteConversation(const std::string& userId, const std::string& conversationId) {
  MX_RETURN_IF_ERROR(store_->deleteConversation(userId, conversationId));
  session_.forget(userId, conversationId);
  return Status::ok();
}

Result<std::shared_ptr<ActiveRun>> RunManager::find(std::string_view runId, std::string_view userId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = runs_.find(runId);
  if (it == runs_.end() || it->second->userId != userId) return notFoundError("run " + std::string(runId) + " not found");
  return it->second;
}

Status RunManager::finishedRunInStore(std::string_view runId, std::string_view userId) {
  auto stored = store_->runEvents(userId, runId, 0);
  if (!stored) return stored.status();
  if (stored->empty()) return notFoundError("run " + std::string(runId) + " not found");
  return failedPreconditionError("run " + std::string(runId) + " has already finished");
}

Status RunManager::cancel(std::string_view runId, std::string_view userId) {
  auto run = find(runId, userId);
  if (!run) return run.status();
  {
    // Live until finish() takes it out, before `done` can reach a client: a client that has seen
    // `done` and cancels is told the run has finished (`finished` is set only after `done` is sent).
    std::lock_guard<std::mutex> lock(mutex_);
    if (live_.find((*run)->id) == live_.end()) {
      return failedPreconditionError("run " + std::string(runId) + " has already finished");
    }
  }
  (*run)->cancel.cancel("cancelled by the user");
  return Status::ok();
}

void RunManager::housekeeping() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    stopHousekeeper_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    lock.unlock();  // counting tens of thousands of descriptors takes milliseconds
    countDescriptors();
    lock.lock();
    auto now = std::chrono::steady_clock::now();
    while (!finishedOrder_.empty() && now - finishedOrder_.front().first > settings_.replay) {
      runs_.erase(finishedOrder_.front().second);
      finishedOrder_.pop_front();
    }
    for (auto& [id, run] : live_) {
      if (settings_.cancelOnDisconnect && run->log->abandoned()) {
        run->cancel.cancel("the client disconnected");
      } else {
        run->log->heartbeat(settings_.heartbeat);
      }
    }
  }
}

void RunManager::shutdown(std::chrono::milliseconds grace) {
  draining_ = true;  // a turn still queued to start is refused
  std::vector<std::shared_ptr<ActiveRun>> active;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    for (auto& [id, run] : live_) active.push_back(run);
  }
  for (auto& run : active) run->cancel.cancel("server shutting down");
  {
    std::unique_lock<std::mutex> lock(mutex_);
    runFinished_.wait_for(lock, grace, [&] {
      for (auto& run : active) {
        if (!run->finished) return false;
      }
      return true;
    });
    stopping_ = true;
  }
  stopHousekeeper_.notify_all();
  if (housekeeper_.joinable()) housekeeper_.join();
}

}  // namespace mx::host::chat
