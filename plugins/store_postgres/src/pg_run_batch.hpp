// Several finished runs in one statement (RunBatchStore, group commit): the
// statement's text for N runs, its parameters, and how a batch is split so
// that one statement never holds two runs of one conversation.
// Each run is N fixed parameters in a VALUES list (its texts as they are: no
// array literal to escape and parse again), its artifacts go as arrays (a run
// has any number), and the conversations the statement updated come back.
// Thread-safety: pure functions. Blocking: never.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "mx/store.hpp"

namespace mx::pg {

// Artifacts as the columns of an unnest, one array literal each: those of one
// run (its statement takes the run's conversation, user and id as scalars)
// or of several (the batch's takes them per artifact).
struct ArtifactColumns {
  void add(const ArtifactRecord& artifact, const RunRecord& run);
  std::string ids() const;
  std::string conversations() const;
  std::string users() const;
  std::string runs() const;
  std::string types() const;
  std::string contents() const;
  std::string words() const;
  std::string statuses() const;
  std::string metadata() const;
  std::string created() const;

 private:
  std::vector<std::string> ids_, conversations_, users_, runs_, types_, contents_, statuses_, metadata_;
  std::vector<int64_t> words_, created_;
};

// Runs saved by one statement at most, and the fewest worth one.
constexpr size_t kMostRunsPerStatement = 32;
constexpr size_t kFewestRunsPerStatement = 2;

// The statement for `runs` runs (kFewestRunsPerStatement..kMostRunsPerStatement):
// each run's conversation count and time, artifacts, assistant message, event
// batch and checkpoint (with the retention and the step's pending writes
// cleared), each part only for runs whose conversation is the run's user's.
// Returns the ids of the conversations it updated.
const std::string& runBatchStatement(size_t runs);

// The statement's parameters for runs[begin, end): every value as text.
// `keepCheckpoints`: rows of a thread kept besides the new one (retention - 1).
std::vector<std::string> runBatchParameters(const std::vector<RunSave>& runs, size_t begin, size_t end,
                                            int64_t keepCheckpoints);

// [begin, end) ranges covering `runs` in order, none holding two runs of one
// conversation (or one checkpoint thread): an UPDATE ... FROM updates a row
// once however many rows match it, and the retention counts a thread's rows
// as they were before the statement.
std::vector<std::pair<size_t, size_t>> runBatchGroups(const std::vector<RunSave>& runs, size_t mostPerGroup);

}  // namespace mx::pg
