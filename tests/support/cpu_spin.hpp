// Burns CPU on the calling thread, for tests of CPU accounting.
// Thread-safety: touches only the calling thread. Blocking: runs for about `ms`
// of this thread's CPU time (longer in wall time on a busy machine).
#pragma once

#include <time.h>

#include <cstdint>

namespace mx::test {

// Burns about `ms` of this thread's CPU (CLOCK_THREAD_CPUTIME_ID, not wall time).
inline int64_t spinCpuMs(int ms) {
  timespec start{}, now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  volatile uint64_t sink = 0;
  do {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<uint64_t>(i);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec) < int64_t{ms} * 1000000);
  return static_cast<int64_t>(sink);
}

}  // namespace mx::test
