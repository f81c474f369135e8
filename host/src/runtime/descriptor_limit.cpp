#include "runtime/descriptor_limit.hpp"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>

namespace mx::host {

std::optional<uint64_t> raiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != limit.rlim_max) {
    rlimit raised{limit.rlim_max, limit.rlim_max};
    setrlimit(RLIMIT_NOFILE, &raised);  // refused: the soft limit stays, and is what descriptorLimit() reads
  }
  return descriptorLimit();
}

std::optional<uint64_t> descriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<uint64_t>(limit.rlim_cur);
}

uint64_t descriptorReserve(uint64_t limit) { return std::max(kMinDescriptorReserve, limit / 10); }

size_t turnsWithin(uint64_t limit) {
  uint64_t reserve = descriptorReserve(limit);
  if (limit <= reserve + kDescriptorsPerTurn) return 1;
  return static_cast<size_t>((limit - reserve) / kDescriptorsPerTurn);
}

size_t openDescriptorCount() {
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) return 0;
  size_t count = 0;
  while (dirent* entry = readdir(directory)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(directory);
  return count > 0 ? count - 1 : 0;  // not the one opendir holds
}

}  // namespace mx::host
