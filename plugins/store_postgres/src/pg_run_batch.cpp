#include "pg_run_batch.hpp"

#include <array>
#include <set>
#include <stdexcept>
#include <string_view>

#include "mx/json_text.hpp"
#include "pg_sql.hpp"

namespace mx::pg {

namespace {

// A run's columns in the VALUES list, in this order (runBatchParameters writes them so).
constexpr std::string_view kRunColumns[] = {
    "user_id::text",      "conversation_id::text", "run_id::text",     "inc::bigint",       "updated_at::bigint",
    "m_id::text",         "m_content::text",       "m_metadata::text", "m_created::bigint", "first_seq::bigint",
    "last_seq::bigint",   "events::text",          "cp_thread::text",  "cp_run::text",      "cp_step::bigint",
    "cp_status::text",    "cp_body::text",         "cp_created::bigint"};
constexpr size_t kRunParameters = std::size(kRunColumns);
constexpr size_t kArtifactArrays = 10;

std::string_view columnName(std::string_view column) { return column.substr(0, column.find("::")); }

std::string valuesList(size_t runs) {
  std::string values = "VALUES ";
  for (size_t run = 0; run < runs; ++run) {
    values += run == 0 ? "(" : ", (";
    for (size_t column = 0; column < kRunParameters; ++column) {
      std::string_view typed = kRunColumns[column];
      values += (column == 0 ? "$" : ", $") + std::to_string(run * kRunParameters + column + 1) +
                std::string(typed.substr(typed.find("::")));
    }
    values += ")";
  }
  std::string names;
  for (auto column : kRunColumns) names += (names.empty() ? "" : ", ") + std::string(columnName(column));
  return "(" + values + ") AS v(" + names + ")";
}

std::string buildStatement(size_t runs) {
  size_t first = runs * kRunParameters + 1;  // the artifacts' arrays, then the retention
  auto p = [first](size_t i) { return "$" + std::to_string(first + i); };
  const std::string mine = "r.conversation_id IN (SELECT id FROM conversation)";
  return "WITH r AS (SELECT * FROM " + valuesList(runs) + "), "
         "conversation AS (UPDATE conversations c SET message_count = c.message_count + r.inc, updated_at = r.updated_at "
         "  FROM r WHERE c.id = r.conversation_id AND c.user_id = r.user_id RETURNING c.id), "
         "artifact AS (INSERT INTO artifacts(id, conversation_id, user_id, run_id, content_type, content, word_count, status, "
         "  metadata, created_at) "
         "  SELECT u.id, u.conversation_id, u.user_id, u.run_id, u.content_type, u.content, u.word_count, u.status, "
         "  u.metadata::jsonb, u.created_at "
         "  FROM unnest(" + p(0) + "::text[], " + p(1) + "::text[], " + p(2) + "::text[], " + p(3) + "::text[], " + p(4) +
         "::text[], " + p(5) + "::text[], " + p(6) + "::bigint[], " + p(7) + "::text[], " + p(8) + "::text[], " + p(9) +
         "::bigint[]) AS u(id, conversation_id, user_id, run_id, content_type, content, word_count, status, metadata, created_at) "
         "  WHERE u.conversation_id IN (SELECT id FROM conversation) "
         "  ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, word_count = EXCLUDED.word_count, "
         "  status = EXCLUDED.status, metadata = EXCLUDED.metadata WHERE artifacts.user_id = EXCLUDED.user_id), "
         "message AS (INSERT INTO messages(id, conversation_id, user_id, role, content, run_id, metadata, created_at) "
         "  SELECT r.m_id, r.conversation_id, r.user_id, 'assistant', r.m_content, r.run_id, r.m_metadata::jsonb, r.m_created "
         "  FROM r WHERE r.m_id <> '' AND " + mine + "), "
         "batch AS (INSERT INTO run_event_batches(run_id, first_seq, last_seq, user_id, conversation_id, events) "
         "  SELECT r.run_id, r.first_seq, r.last_seq, r.user_id, r.conversation_id, r.events "
         "  FROM r WHERE r.events <> '' AND " + mine + " ON CONFLICT (run_id, first_seq) DO NOTHING), "
         // The retention's subquery sees the rows before the insert: keep that many of them plus the new one.
         "cp_inserted AS (INSERT INTO checkpoints(thread_id, run_id, step, status, body, created_at) "
         "  SELECT r.cp_thread, r.cp_run, r.cp_step, r.cp_status, r.cp_body, r.cp_created "
         "  FROM r WHERE r.cp_thread <> '' AND " + mine + "), "
         "cp_retired AS (DELETE FROM checkpoints WHERE seq IN (SELECT k.seq FROM "
         "  (SELECT seq, row_number() OVER (PARTITION BY thread_id ORDER BY seq DESC) AS newer FROM checkpoints "
         "   WHERE thread_id IN (SELECT r.cp_thread FROM r WHERE r.cp_thread <> '' AND " + mine + ")) k "
         "  WHERE k.newer > " + p(kArtifactArrays) + "::bigint)), "
         "cp_cleared AS (DELETE FROM pending_writes w USING r "
         "  WHERE r.cp_thread <> '' AND w.thread_id = r.cp_thread AND w.run_id = r.cp_run AND w.step < r.cp_step AND " + mine + ") "
         "SELECT id FROM conversation";
}

}  // namespace

void ArtifactColumns::add(const ArtifactRecord& artifact, const RunRecord& run) {
  ids_.push_back(artifact.id);
  conversations_.push_back(run.conversationId);
  users_.push_back(run.userId);
  runs_.push_back(run.runId);
  types_.push_back(artifact.contentType);
  contents_.push_back(artifact.content);
  words_.push_back(artifact.wordCount);
  statuses_.push_back(artifact.status);
  metadata_.push_back(jsonText(artifact.metadata));
  created_.push_back(artifact.createdAtMs);
}

std::string ArtifactColumns::ids() const { return textArrayLiteral(ids_); }
std::string ArtifactColumns::conversations() const { return textArrayLiteral(conversations_); }
std::string ArtifactColumns::users() const { return textArrayLiteral(users_); }
std::string ArtifactColumns::runs() const { return textArrayLiteral(runs_); }
std::string ArtifactColumns::types() const { return textArrayLiteral(types_); }
std::string ArtifactColumns::contents() const { return textArrayLiteral(contents_); }
std::string ArtifactColumns::words() const { return bigintArrayLiteral(words_); }
std::string ArtifactColumns::statuses() const { return textArrayLiteral(statuses_); }
std::string ArtifactColumns::metadata() const { return textArrayLiteral(metadata_); }
std::string ArtifactColumns::created() const { return bigintArrayLiteral(created_); }

const std::string& runBatchStatement(size_t runs) {
  if (runs < kFewestRunsPerStatement) throw std::out_of_range("a run batch statement holds at least two runs");
  static const auto statements = [] {
    std::array<std::string, kMostRunsPerStatement + 1> built;
    for (size_t n = kFewestRunsPerStatement; n <= kMostRunsPerStatement; ++n) built[n] = buildStatement(n);
    return built;
  }();
  return statements.at(runs);
}

std::vector<std::string> runBatchParameters(const std::vector<RunSave>& runs, size_t begin, size_t end,
                                            int64_t keepCheckpoints) {
  std::vector<std::string> values;
  values.reserve((end - begin) * kRunParameters + kArtifactArrays + 1);
  ArtifactColumns artifacts;
  for (size_t i = begin; i < end; ++i) {
    const RunRecord& run = *runs[i].run;
    const MessageRecord* message = run.assistantMessage ? &*run.assistantMessage : nullptr;
    const Checkpoint* checkpoint = runs[i].checkpoint;
    values.push_back(run.userId);
    values.push_back(run.conversationId);
    values.push_back(run.runId);
    values.push_back(message != nullptr ? "1" : "0");
    values.push_back(std::to_string(run.updatedAtMs));
    values.push_back(message != nullptr ? message->id : "");
    values.push_back(message != nullptr ? message->content : "");
    values.push_back(message != nullptr ? jsonText(message->metadata) : "{}");
    values.push_back(std::to_string(message != nullptr ? message->createdAtMs : 0));
    values.push_back(std::to_string(run.events.firstSequence));
    values.push_back(std::to_string(run.events.lastSequence));
    values.push_back(run.events.text);
    values.push_back(checkpoint != nullptr ? checkpoint->threadId : "");
    values.push_back(checkpoint != nullptr ? checkpoint->runId : "");
    values.push_back(std::to_string(checkpoint != nullptr ? checkpoint->step : 0));
    values.push_back(checkpoint != nullptr ? checkpoint->status : "");
    values.push_back(checkpoint != nullptr ? *runs[i].checkpointText : "");
    values.push_back(std::to_string(checkpoint != nullptr ? checkpoint->createdAtMs : 0));
    for (const auto& artifact : run.artifacts) artifacts.add(artifact, run);
  }
  for (auto column : {&ArtifactColumns::ids, &ArtifactColumns::conversations, &ArtifactColumns::users, &ArtifactColumns::runs,
                      &ArtifactColumns::types, &ArtifactColumns::contents, &ArtifactColumns::words, &ArtifactColumns::statuses,
                      &ArtifactColumns::metadata, &ArtifactColumns::created}) {
    values.push_back((artifacts.*column)());
  }
  values.push_back(std::to_string(keepCheckpoints));
  return values;
}

std::vector<std::pair<size_t, size_t>> runBatchGroups(const std::vector<RunSave>& runs, size_t mostPerGroup) {
  std::vector<std::pair<size_t, size_t>> groups;
  std::set<std::string_view> conversations, threads;
  size_t begin = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string_view conversation = runs[i].run->conversationId;
    std::string_view thread = runs[i].checkpoint != nullptr ? std::string_view(runs[i].checkpoint->threadId) : std::string_view();
    bool repeats = conversations.count(conversation) != 0 || (!thread.empty() && threads.count(thread) != 0);
    if (i > begin && (repeats || i - begin == mostPerGroup)) {
      groups.emplace_back(begin, i);
      begin = i;
      conversations.clear();
      threads.clear();
    }
    conversations.insert(conversation);
    if (!thread.empty()) threads.insert(thread);
  }
  if (begin < runs.size()) groups.emplace_back(begin, runs.size());
  return groups;
}

}  // namespace mx::pg
