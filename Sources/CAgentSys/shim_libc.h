#ifndef CAGENT_SHIM_LIBC_H
#define CAGENT_SHIM_LIBC_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/// `errno` is a macro over a thread-local; Swift cannot read it directly.
static inline int ca_errno(void) { return errno; }
static inline void ca_set_errno(int value) { errno = value; }

/// `open` is variadic.
static inline int ca_open(const char *path, int flags, unsigned int mode) {
  return open(path, flags | O_CLOEXEC, (mode_t)mode);
}

static inline int ca_flag_rdonly(void) { return O_RDONLY; }
static inline int ca_flag_wronly_create_excl(void) { return O_WRONLY | O_CREAT | O_EXCL; }
static inline int ca_flag_directory(void) { return O_RDONLY | O_DIRECTORY; }

/// Keeps secrets out of core dumps and out of reach of same-uid ptrace.
static inline int ca_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
static inline int ca_is_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

// 64-bit time on every target: armv7 is built with -D_TIME_BITS=64, so
// clock_gettime binds glibc's __clock_gettime64 and nothing wraps in 2038.
_Static_assert(sizeof(time_t) == 8, "build with -D_TIME_BITS=64: time_t must be 64 bits");

/// Wall clock in whole seconds since the epoch (may be 1970 on an unsynced board).
static inline int64_t ca_wall_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec;
}

/// CLOCK_REALTIME in milliseconds since the epoch (-1 on failure).
static inline int64_t ca_wall_milliseconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

/// Monotonic clock in milliseconds, for timers and timeouts.
static inline int64_t ca_monotonic_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/// Monotonic clock in nanoseconds, for benchmarks.
static inline int64_t ca_monotonic_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/// The build's own time (SOURCE_DATE_EPOCH style: the commit time, set by
/// cross/build.sh and test.sh with -DCA_BUILD_TIME=SECONDS). The firmware
/// cannot run before it was built, so this is the lowest time floor.
/// 0 when the build did not say.
#ifndef CA_BUILD_TIME
#define CA_BUILD_TIME 0
#endif
static inline int64_t ca_build_time(void) { return (int64_t)(CA_BUILD_TIME); }

#endif
