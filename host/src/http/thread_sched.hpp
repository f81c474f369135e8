// The calling thread's scheduling attributes through Linux's sched_getattr and
// sched_setattr (glibc 2.36 has no wrappers): policy, nice value and, for
// SCHED_OTHER and SCHED_BATCH on Linux 6.12 and later, the custom slice.
// Thread-safety: each call acts on the calling thread only.
// Blocking: no; one system call each.
#pragma once

#include <cstdint>

#include <sys/syscall.h>
#include <unistd.h>

namespace mx::host::http {

// The kernel's struct sched_attr.
struct ThreadSched {
  uint32_t size = sizeof(ThreadSched);
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtimeNanos = 0;  // SCHED_OTHER and SCHED_BATCH: the slice (0 when set: the kernel's)
  uint64_t deadline = 0;
  uint64_t period = 0;
};

// False with errno set when the kernel refuses.
inline bool readThreadSched(ThreadSched& sched) {
  return syscall(SYS_sched_getattr, 0, &sched, sizeof(sched), 0) == 0;
}
inline bool writeThreadSched(const ThreadSched& sched) { return syscall(SYS_sched_setattr, 0, &sched, 0) == 0; }

}  // namespace mx::host::http
