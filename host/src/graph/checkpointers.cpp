#include "graph/checkpointers.hpp"
#include "mx/json_parse.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mx::host {

namespace {

Json writeToJson(const PendingWrite& w) {
  return {{"threadId", w.threadId}, {"runId", w.runId}, {"step", w.step}, {"node", w.node}, {"update", w.update}};
}

PendingWrite writeFromJson(const Json& j) {
  return {j.value("threadId", ""), j.value("runId", ""), j.value("step", int64_t{0}), j.value("node", ""),
          j.contains("update") ? j["update"] : Json::object()};
}

}  // namespace

Status MemoryCheckpointer::save(const Checkpoint& checkpoint) {
  std::lock_guard<std::mutex> lock(mutex_);
  Thread& thread = threads_[checkpoint.threadId];
  thread.checkpoints.push_back(checkpoint);
  if (thread.checkpoints.size() > retention_) {
    thread.checkpoints.erase(thread.checkpoints.begin(),
                             thread.checkpoints.end() - static_cast<std::ptrdiff_t>(retention_));
  }
  std::erase_if(thread.writes, [&](const PendingWrite& w) { return w.runId == checkpoint.runId && w.step < checkpoint.step; });
  return Status::ok();
}

Status MemoryCheckpointer::saveWrite(const PendingWrite& write) {
  std::lock_guard<std::mutex> lock(mutex_);
  threads_[write.threadId].writes.push_back(write);
  return Status::ok();
}

Result<Checkpoint> MemoryCheckpointer::latest(std::string_view threadId, std::string_view runId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = threads_.find(threadId);
  if (it != threads_.end()) {
    for (auto c = it->second.checkpoints.rbegin(); c != it->second.checkpoints.rend(); ++c) {
      if (c->runId == runId) return *c;
    }
  }
  return notFoundError("no checkpoint for run " + std::string(runId) + " of thread " + std::string(threadId));
}

Result<std::vector<PendingWrite>> MemoryCheckpointer::pendingWrites(std::string_view threadId, std::string_view runId,
                                                                    int64_t step) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PendingWrite> out;
  auto it = threads_.find(threadId);
  if (it != threads_.end()) {
    for (const auto& w : it->second.writes) {
      if (w.runId == runId && w.step == step) out.push_back(w);
    }
  }
  return out;
}

Result<std::vector<Checkpoint>> MemoryCheckpointer::history(std::string_view threadId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = threads_.find(threadId);
  return it == threads_.end() ? std::vector<Checkpoint>{} : it->second.checkpoints;
}

Status MemoryCheckpointer::deleteThread(std::string_view threadId) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = threads_.find(threadId); it != threads_.end()) threads_.erase(it);
  return Status::ok();
}

FileCheckpointer::FileCheckpointer(std::string directory, size_t retention)
    : directory_(std::move(directory)), retention_(retention) {
  std::error_code ignored;
  std::filesystem::create_directories(directory_, ignored);
}

// Thread ids become file names: keep safe characters, hex-escape the rest.
std::string FileCheckpointer::pathFor(std::string_view threadId) const {
  std::string name;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : threadId) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      name.push_back(static_cast<char>(c));
    } else {
      name += '%';
      name += kHex[c >> 4];
      name += kHex[c & 0xF];
    }
  }
  return directory_ + "/" + name + ".jsonl";
}

Result<std::vector<Json>> FileCheckpointer::readRecords(std::string_view threadId) const {
  std::vector<Json> records;
  std::ifstream in(pathFor(threadId));
  std::string line;
  while (std::getline(in, line)) {
    Json record = parseJson(line);
    if (record.is_discarded()) continue;  // a line torn by a crash mid-write
    records.push_back(std::move(record));
  }
  return records;
}

Status FileCheckpointer::append(std::string_view threadId, const Json& record) {
  std::string line = record.dump() + "\n";
  int fd = ::open(pathFor(threadId).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return unavailableError("cannot open " + pathFor(threadId) + ": " + std::strerror(errno));
  ssize_t written = ::write(fd, line.data(), line.size());
  bool ok = written == static_cast<ssize_t>(line.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  return ok ? Status::ok() : unavailableError("cannot write " + pathFor(threadId) + ": " + std::strerror(errno));
}

Status FileCheckpointer::compact(std::string_view threadId, const std::vector<Json>& records) {
  std::string path = pathFor(threadId);
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    for (const auto& record : records) out << record.dump() << "\n";
    if (!out) return unavailableError("cannot write " + temporary);
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  return error ? unavailableError("cannot replace " + path + ": " + error.message()) : Status::ok();
}

Status FileCheckpointer::save(const Checkpoint& checkpoint) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json record = toJson(checkpoint);
  record["kind"] = "checkpoint";
  MX_RETURN_IF_ERROR(append(checkpoint.threadId, record));
  auto records = readRecords(checkpoint.threadId);
  size_t checkpoints = 0;
  for (const auto& r : *records) checkpoints += r.value("kind", "") == "checkpoint" ? 1 : 0;
  if (checkpoints <= retention_ * 2) return Status::ok();  // compact in batches, not on every save
  std::vector<Json> kept;
  size_t skip = checkpoints - retention_;
  for (const auto& r : *records) {
    if (r.value("kind", "") == "checkpoint") {
      if (skip > 0) {
        --skip;
        continue;
      }
      kept.push_back(r);
    } else if (r.value("runId", "") != checkpoint.runId || r.value("step", int64_t{0}) >= checkpoint.step) {
      kept.push_back(r);  // pending writes still in play
    }
  }
  return compact(checkpoint.threadId, kept);
}

Status FileCheckpointer::saveWrite(const PendingWrite& write) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json record = writeToJson(write);
  record["kind"] = "write";
  return append(write.threadId, record);
}

Result<Checkpoint> FileCheckpointer::latest(std::string_view threadId, std::string_view runId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto records = readRecords(threadId);
  for (auto it = records->rbegin(); it != records->rend(); ++it) {
    if (it->value("kind", "") == "checkpoint" && it->value("runId", "") == runId) return checkpointFromJson(*it);
  }
  return notFoundError("no checkpoint for run " + std::string(runId) + " of thread " + std::string(threadId));
}

Result<std::vector<PendingWrite>> FileCheckpointer::pendingWrites(std::string_view threadId, std::string_view runId,
                                                                  int64_t step) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto records = readRecords(threadId);
  std::vector<PendingWrite> out;
  for (const auto& r : *records) {
    if (r.value("kind", "") == "write" && r.value("runId", "") == runId && r.value("step", int64_t{0}) == step) {
      out.push_back(writeFromJson(r));
    }
  }
  return out;
}

Result<std::vector<Checkpoint>> FileCheckpointer::history(std::string_view threadId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto records = readRecords(threadId);
  std::vector<Checkpoint> out;
  for (const auto& r : *records) {
    if (r.value("kind", "") == "checkpoint") out.push_back(checkpointFromJson(r));
  }
  if (out.size() > retention_) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(retention_));
  return out;
}

Status FileCheckpointer::deleteThread(std::string_view threadId) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::error_code error;
  std::filesystem::remove(pathFor(threadId), error);
  return error ? unavailableError("cannot delete " + pathFor(threadId) + ": " + error.message()) : Status::ok();
}

}  // namespace mx::host
