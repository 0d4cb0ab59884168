// The local trigger (`camera-agent pair`, CLI/PairCommand.swift): asking the
// running daemon, found as the holder of the vault lock, for a fresh pairing
// code with SIGUSR2 through a pidfd, so that the process checked is the
// process signalled even if the pid is reused in between.
#ifndef CAGENT_SHIM_SIGNAL_H
#define CAGENT_SHIM_SIGNAL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/// pidfd_open(2) through syscall(2): glibc has a wrapper only from 2.36,
/// older than some boards' glibc. -1 with errno (ENOSYS before Linux 5.3,
/// ESRCH when the process is gone).
static inline int ca_pidfd_open(long pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/// pidfd_send_signal(2) with no siginfo (the target sees SI_USER, as from
/// kill(2)). Signal 0 sends nothing and checks the process still exists.
/// -1 with errno: ESRCH once the process has been reaped, EPERM when the
/// caller may not signal it, ENOSYS before Linux 5.1.
static inline int ca_pidfd_send_signal(int pidfd, int signal_number) {
#ifdef SYS_pidfd_send_signal
  return (int)syscall(SYS_pidfd_send_signal, pidfd, signal_number, NULL, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/// kill(2): only where the kernel has no pidfds (see PairCommand).
static inline int ca_kill(long pid, int signal_number) { return kill((pid_t)pid, signal_number); }

/// The MTD vault's device node opened as MTDFlash opens it (the path may be
/// a udev link such as /dev/mtd-vault, so it is followed), but read-only and
/// O_NONBLOCK: `pair` only looks at who holds its lock.
static inline int ca_open_device_readonly(const char *path) {
  return open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

/// What an open descriptor is and who owns it: `kind` 1 directory,
/// 2 regular file, 4 character device, 3 anything else. 0 or -1 with errno.
static inline int ca_fstat_owner(int fd, int *kind, uint32_t *uid, uint32_t *gid) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  if (S_ISDIR(st.st_mode)) *kind = 1;
  else if (S_ISREG(st.st_mode)) *kind = 2;
  else if (S_ISCHR(st.st_mode)) *kind = 4;
  else *kind = 3;
  *uid = (uint32_t)st.st_uid;
  *gid = (uint32_t)st.st_gid;
  return 0;
}

#endif
