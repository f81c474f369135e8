// Group commit's statement, parameters and groups (pg_run_batch.hpp): no
// server needed; the conformance suite runs the statement on PostgreSQL.
#include "pg_run_batch.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace mx::pg {
namespace {

RunRecord runOf(const std::string& conversation, const std::string& id) {
  return {"alice", conversation, id, {}, std::nullopt, 10, runEventBatch({{1, "done", "{}"}})};
}

Checkpoint checkpointOf(const std::string& thread) {
  Checkpoint checkpoint;
  checkpoint.threadId = thread;
  checkpoint.runId = "r";
  checkpoint.step = 3;
  checkpoint.status = "completed";
  return checkpoint;
}

size_t highestPlaceholder(const std::string& sql) {
  size_t highest = 0;
  std::regex placeholder(R"(\$([0-9]+))");
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), placeholder); it != std::sregex_iterator(); ++it) {
    highest = std::max<size_t>(highest, std::stoul((*it)[1].str()));
  }
  return highest;
}

TEST(PgRunBatch, AGroupNeverHoldsAConversationOrAThreadTwice) {
  RunRecord a = runOf("c1", "r1"), b = runOf("c2", "r2"), c = runOf("c3", "r3"), d = runOf("c3", "r4"), e = runOf("c4", "r5");
  Checkpoint onT = checkpointOf("t"), alsoOnT = checkpointOf("t");
  std::string text = "{}";
  std::vector<RunSave> runs = {{&a}, {&b, &onT, &text}, {&c, &alsoOnT, &text}, {&d}, {&e}};
  using Groups = std::vector<std::pair<size_t, size_t>>;
  // The thread "t" again at 2: a new group; c3 again at 3: another.
  EXPECT_EQ(runBatchGroups(runs, 32), (Groups{{0, 2}, {2, 3}, {3, 5}}));
  EXPECT_EQ(runBatchGroups(runs, 1), (Groups{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}));
  std::vector<RunSave> distinct = {{&a}, {&b}, {&d}, {&e}};
  EXPECT_EQ(runBatchGroups(distinct, 3), (Groups{{0, 3}, {3, 4}}));
  EXPECT_TRUE(runBatchGroups({}, 32).empty());
}

TEST(PgRunBatch, EachRunIsItsRowOfParametersAndItsArtifactsGoAsArrays) {
  RunRecord withAll{"alice", "c1", "r1", {{"a1", "c1", "alice", "r1", "email", "Say \"hi\"", 2, "complete", {{"k", 1}}, 5},
                                          {"a2", "c1", "alice", "r1", "ad", "Two", 1, "incomplete", {}, 6}},
                    MessageRecord{"m1", "c1", "alice", "assistant", "Done", "r1", {{"steps", 4}}, 7}, 8,
                    runEventBatch({{1, "thinking", "{}"}, {2, "done", "{}"}})};
  RunRecord bare = runOf("c2", "r2");
  Checkpoint checkpoint = checkpointOf("c1");
  std::string text = "{\"state\":1}";
  std::vector<RunSave> runs = {{&withAll, &checkpoint, &text}, {&bare}};
  auto values = runBatchParameters(runs, 0, 2, 19);
  ASSERT_EQ(values.size(), 2u * 18 + 11);
  EXPECT_EQ(std::vector<std::string>(values.begin(), values.begin() + 6), (std::vector<std::string>{"alice", "c1", "r1", "1", "8", "m1"}));
  EXPECT_EQ(values[6], "Done");
  EXPECT_EQ(values[7], R"({"steps":4})");
  EXPECT_EQ(values[9], "1");   // the events' first
  EXPECT_EQ(values[10], "2");  // and last
  EXPECT_EQ(values[11], withAll.events.text);
  EXPECT_EQ(std::vector<std::string>(values.begin() + 12, values.begin() + 18),
            (std::vector<std::string>{"c1", "r", "3", "completed", text, "0"}));
  // The bare run: no message (counted 0, id empty), no checkpoint (thread empty).
  EXPECT_EQ(values[18 + 3], "0");
  EXPECT_EQ(values[18 + 5], "");
  EXPECT_EQ(values[18 + 12], "");
  // The artifacts of every run, each with its run's conversation, user and id; then the retention.
  EXPECT_EQ(values[36], R"({"a1","a2"})");
  EXPECT_EQ(values[37], R"({"c1","c1"})");
  EXPECT_EQ(values[41], R"({"Say \"hi\"","Two"})");
  EXPECT_EQ(values[42], "{2,1}");
  EXPECT_EQ(values[44], R"({"{\"k\":1}","null"})");  // {} in the record is a null Json
  EXPECT_EQ(values[46], "19");
  // A range of the runs only.
  EXPECT_EQ(runBatchParameters(runs, 1, 2, 19).size(), 18u + 11);
}

TEST(PgRunBatch, TheStatementTakesExactlyItsRunsParameters) {
  for (size_t runs : {kFewestRunsPerStatement, size_t{5}, kMostRunsPerStatement}) {
    const std::string& sql = runBatchStatement(runs);
    EXPECT_EQ(highestPlaceholder(sql), runs * 18 + 11) << runs;
    EXPECT_EQ(&sql, &runBatchStatement(runs));  // built once
    EXPECT_NE(sql.find("SELECT id FROM conversation"), std::string::npos);
  }
  EXPECT_THROW(runBatchStatement(kMostRunsPerStatement + 1), std::out_of_range);
  EXPECT_THROW(runBatchStatement(1), std::out_of_range);
}

}  // namespace
}  // namespace mx::pg
