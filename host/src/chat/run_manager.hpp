// Chat turns as runs, decoupled from the connections that watch them.
//
// startTurn() creates the run (its id, event log and cancellation source),
// starts the deployment's chat graph from the conversation's last state (from
// the session cache, else the checkpoints) and records the user's message
// meanwhile, on the deployment's blocking pool: the stream is attached once the message is saved,
// with the events so far, and a turn whose message cannot be saved is
// cancelled, forgotten and refused with the store's error. Streams attach to a run's log (and re-attach
// with Last-Event-ID); a disconnect does not stop the run unless the policy
// says so. When the graph ends, the turn is saved (assistant message with its
// usage and cost, artifacts — complete, or kept and marked incomplete — and
// the event log), then `message` (on success) or `error` (with
// artifactIncomplete) and `done` close the stream. Once the store holds a
// finished run's events, the run is freed and nothing of it stays (replay
// reads them back from there, and a cancel asks the store whether it has
// finished): a busy server finishes thousands of runs a minute. A run whose
// save failed keeps its events in memory for `replay` instead.
// Thread-safety: every method may be called from any thread.
// Blocking: the lookups, and startTurn of a turn in an existing conversation,
// touch the store (call them on the blocking pool); startTurn of a new
// conversation does not (its save is posted there), so an HTTP reactor may
// call it. The records of a finished run are saved on the blocking pool too,
// never on a graph worker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <unordered_map>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "chat/run_log.hpp"
#include "chat/run_usage.hpp"
#include "chat/save_queue.hpp"
#include "chat/session_cache.hpp"
#include "http/metrics.hpp"
#include "mx/store.hpp"
#include "runtime/deployment.hpp"

namespace mx::host::chat {

struct ChatSettings {
  std::string graph = "agent";
  std::string store = "main";
  std::chrono::seconds heartbeat{15};
  std::chrono::seconds replay{600};
  size_t maxMessageChars = 32000;
  // Most finished runs saved in one call of the store while saves queue up
  // (group commit); 1: each run in a call of its own.
  size_t runsPerSave = kDefaultRunsPerSave;
  // Turns in progress at once; a turn beyond it is refused (Unavailable: the
  // API answers 503 with Retry-After) instead of starting and failing midway
  // when the process runs out of descriptors. 0: no limit.
  size_t maxLiveRuns = 0;
  // The process's descriptor limit (0: unknown). Turns are also refused while
  // the descriptors open, as the housekeeper last counted them (once a
  // second), are within a twentieth of it: model connections and the sockets
  // of clients being turned away need that room.
  uint64_t descriptorLimit = 0;
  std::function<size_t()> countOpenDescriptors;  // null: not counted
  bool cancelOnDisconnect = false;
  std::shared_ptr<CacheBackend> sessionCache;     // null: no session cache layer
  http::ServerMetrics* metrics = nullptr;         // null: not recorded; must outlive the manager
  std::chrono::seconds sessionTtl{1800};
};

struct ActiveRun {
  std::string id;
  std::string userId;
  std::string conversationId;
  int64_t messageCount = 0;  // the conversation's, the user's message of this turn included
  std::shared_ptr<RunLog> log = std::make_shared<RunLog>();
  RunUsage usage;
  CancellationSource cancel;
  std::atomic<bool> finished{false};
  // The graph starts while the user's message is being saved; the run is
  // finished once both are over, whichever ends last (see startTurn).
  std::atomic<int> untilFinish{2};
  std::optional<RunOutcome> outcome;  // the graph's, kept until the save is over
  bool recorded = false;              // the user's message was saved: the turn is the client's
};

struct TurnRequest {
  std::string userId;
  std::string conversationId;  // empty: a new conversation
  std::string message;
  Json modelPreference;        // null or {tier1, tier2}
  Json context;                // null or {includeResources, enableWebSearch, ...}
};

class RunManager {
 public:
  RunManager(Deployment& deployment, ChatSettings settings, std::shared_ptr<Store> store, std::shared_ptr<Logger> logger);
  ~RunManager();

  // Errors found before the graph starts (the limit, an unknown conversation,
  // shutdown) are returned. Then, on a worker, once the user's message is
  // saved: `attach` (e.g. subscribes the client's stream from the run's first
  // event); or, if it cannot be saved, `refused` with the store's error.
  Result<std::shared_ptr<ActiveRun>> startTurn(const TurnRequest& turn,
                                               std::function<void(const std::shared_ptr<ActiveRun>&)> attach = {},
                                               std::function<void(const Status&)> refused = {});
  // The run if it belongs to `userId` and is in memory: live, or finished
  // with its events not in the store (NotFound otherwise, also for other
  // users' runs).
  Result<std::shared_ptr<ActiveRun>> find(std::string_view runId, std::string_view userId);
  // Cancels a live run of `userId`: FailedPrecondition when it is in memory
  // and has finished, NotFound when it is not in memory (finishedRunInStore
  // then tells a finished run from an unknown one). Never blocks.
  Status cancel(std::string_view runId, std::string_view userId);
  // For a run not in memory: FailedPrecondition ("has already finished") when
  // the store holds its events for `userId`, NotFound when it holds none, or
  // the store's error. Blocking: a store read (run it on the blocking pool).
  Status finishedRunInStore(std::string_view runId, std::string_view userId);
  // Deletes the conversation (store, checkpoints, session cache).
  Status deleteConversation(const std::string& userId, const std::string& conversationId);
  // Stops every run (cancelled) and waits up to `grace` for them to finish.
  void shutdown(std::chrono::milliseconds grace);

  const ChatSettings& settings() const { return settings_; }
  Store& store() { return *store_; }
  size_t activeRuns() const;
  // Turns refused since start: maxLiveRuns were in progress, or the process
  // was near its descriptor limit.
  uint64_t refusedTurns() const { return refused_.load(std::memory_order_relaxed); }
  // A cheap look before any work: a turn would be refused now (startTurn
  // still decides). Counts the refusal and returns its error, or OK.
  Status refuseIfFull();
  // Counts the open descriptors (the housekeeper does, every second).
  void countDescriptors();
  // Live runs, and finished ones whose events the store did not take (kept
  // whole for the replay window). A run whose events are stored leaves nothing.
  size_t runsInMemory() const;
  const SessionCache& sessionCache() const { return session_; }
  // Group commit: the calls that saved finished runs (a batch is one call when the store takes
  // batches), and the runs they saved; runs / calls is the mean batch.
  uint64_t runSaveCalls() const { return runSaveCalls_.load(std::memory_order_relaxed); }
  uint64_t runsSaved() const { return runsSaved_.load(std::memory_order_relaxed); }

 private:
  // Saves the user's message of a started run, then attaches or refuses it.
  void recordTurn(const std::shared_ptr<ActiveRun>& run, const ConversationRecord& conversation, const MessageRecord& message,
                  const std::function<void(const std::shared_ptr<ActiveRun>&)>& attach,
                  const std::function<void(const Status&)>& refused);
  // Called twice per started run, by the graph's end and by the message's
  // save; the second call finishes the run.
  void finishWhenBothOver(const std::shared_ptr<ActiveRun>& run);
  void finishRecorded(const std::shared_ptr<ActiveRun>& run, RunOutcome outcome);  // on the blocking pool
  void finish(const std::shared_ptr<ActiveRun>& run, RunOutcome outcome);
  // A finished run on its way to the store (finish, then saves_).
  struct PendingSave {
    std::shared_ptr<ActiveRun> run;
    RunRecord record;
    RunOutcome outcome;
    std::string done;  // the data of its `done` event, sent once it is saved
  };
  // One batch of saves_: saved, then each of its runs ends.
  void saveFinished(std::vector<PendingSave>& batch);
  // The runs' records, several in one call when the store is a RunBatchStore; one status each.
  std::vector<Status> saveBatch(std::vector<PendingSave>& batch);
  // In one call of the store's saveRuns; nullopt when the store saves runs one by one, or a run's
  // checkpoint goes to a checkpointer of its own (saved apart, just before its run, by saveRecords).
  std::optional<std::vector<Status>> saveTogether(std::vector<PendingSave>& batch);
  // After its save: the session cache, `done`, and the run leaves memory when its events are stored.
  void endSaved(PendingSave& pending, const Status& saved);
  // True when a finished run's state tree is needed no more: its text is written, and what is left to
  // save it to (the checkpoint, the session cache) takes the text.
  bool onlyStateTextNeeded(const RunOutcome& outcome) const;
  // The run's records, with its last checkpoint when the runtime handed it over; failures logged.
  Status saveRecords(const std::shared_ptr<ActiveRun>& run, const RunRecord& record, const RunOutcome& outcome);
  void logNotSaved(const std::string& runId, bool withCheckpoint, const Status& saved) const;
  // A run whose user message was not saved: cancelled and forgotten; of it,
  // only the last checkpoint is saved (apart), as the runtime used to.
  void discard(const std::shared_ptr<ActiveRun>& run, const RunOutcome& outcome);
  // Takes one of maxLiveRuns places for a starting turn; false at the limit.
  bool admit();
  Status countRefusal();  // a turn refused at the limit: counted; its error
  bool nearDescriptorLimit() const;
  bool atTurnLimit(size_t admitted) const;  // `admitted` turns fill maxLiveRuns
  void housekeeping();
  // The state of the conversation's newest completed run, from its checkpoints.
  std::optional<Json> lastCompletedState(const std::string& conversationId);

  Deployment& deployment_;
  ChatSettings settings_;
  std::shared_ptr<Store> store_;
  bool checkpointsInStore_;  // store_ keeps the graph runtime's checkpoints: a run's last is saved with it
  bool checkpointsFromText_;  // the graph runtime's checkpointer saves a checkpoint from its text alone
  std::shared_ptr<Logger> logger_;
  SessionCache session_;
  mutable std::mutex mutex_;
  std::condition_variable runFinished_;   // shutdown waits on it
  std::condition_variable stopHousekeeper_;
  // The runs in memory: live, or finished within the replay window with their
  // events not in the store (a stored run leaves when it ends).
  std::map<std::string, std::shared_ptr<ActiveRun>, std::less<>> runs_;
  // The live ones, for heartbeats; the finished ones kept for the replay
  // window in the order they finished, so expiry looks only at the oldest.
  std::unordered_map<std::string, std::shared_ptr<ActiveRun>> live_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> finishedOrder_;
  bool stopping_ = false;
  std::atomic<bool> draining_{false};  // shutdown has begun
  // Turns admitted and not finished: counted from admission (before the store
  // work of startTurn), so turns starting at once cannot all pass the limit.
  std::atomic<size_t> admitted_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<size_t> openDescriptors_{0};  // as last counted
  std::atomic<uint64_t> runSaveCalls_{0};
  std::atomic<uint64_t> runsSaved_{0};
  SaveQueue<PendingSave> saves_;  // group commit of finished runs
  std::thread housekeeper_;
};

int64_t nowMillis();

}  // namespace mx::host::chat
