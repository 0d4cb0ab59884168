// The daemon's syslog client and transition hook: a datagram to the local
// syslog socket, and posix_spawn of the hook with a clean environment.
#ifndef CAGENT_SHIM_LOG_H
#define CAGENT_SHIM_LOG_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/// A datagram socket connected to the syslog socket at `path` (usually
/// /dev/log), or -1 with errno.
static inline int ca_syslog_connect(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(addr.sun_path, path, n);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/// One datagram; never blocks and never raises SIGPIPE. 0 or -1 with errno.
static inline int ca_syslog_send(int fd, const void *bytes, size_t count) {
  ssize_t n = send(fd, bytes, count, MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == (ssize_t)count ? 0 : -1;
}

/// Starts `path` with argv { path } and exactly `envp`: stdin from
/// /dev/null, stdout and stderr to the agent's stderr, no other descriptor,
/// every signal at its default action and none blocked. 0 and *pid, or an
/// errno value.
static inline int ca_spawn_hook(const char *path, char *const envp[], pid_t *pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int rc = posix_spawn_file_actions_init(&actions);
  if (rc != 0) return rc;
  rc = posix_spawnattr_init(&attr);
  if (rc != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return rc;
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, 2, 1);
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
  // Its own process group (pgid = its pid), so a timeout can kill whatever
  // the hook started too, not just the hook.
  if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  char *argv[] = {(char *)path, NULL};
  if (rc == 0) rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc;
}

/// Reaps `pid` if it has ended: 1 and *status (the exit code, or 128 + the
/// signal), 0 still running, -1 error.
static inline int ca_reap(pid_t pid, int *status) {
  int raw = 0;
  pid_t r = waitpid(pid, &raw, WNOHANG);
  if (r == 0) return 0;
  if (r < 0) return -1;
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : (WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : 255);
  return 1;
}

/// SIGKILL to the hook's whole process group (spawned by ca_spawn_hook with
/// pgid = pid). Called before the leader is reaped, so the group id cannot
/// have been reused. A child that left the group (setsid) is out of reach.
static inline void ca_kill_group_hard(pid_t pid) { kill(-pid, SIGKILL); }

static inline void ca_sleep_ms(int ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

#endif
