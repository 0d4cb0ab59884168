// Signals and waiting for the daemon's event loop (`camera-agent run`).
//
// Signals arrive through a signalfd, so the loop sees them as ordinary
// readable input in poll(2) and no Swift code runs in a signal handler.
#ifndef CAGENT_SHIM_DAEMON_H
#define CAGENT_SHIM_DAEMON_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static inline int ca_sig_term(void) { return SIGTERM; }
static inline int ca_sig_int(void) { return SIGINT; }
static inline int ca_sig_hup(void) { return SIGHUP; }
static inline int ca_sig_usr1(void) { return SIGUSR1; }

/// Unblocks every signal a parent handed down blocked, restores the default
/// action of the four the daemon handles (an ignored signal would never reach
/// the signalfd), then blocks exactly those four and returns a signalfd that
/// reports them (-1 with errno on failure). SIGPIPE stays ignored: a closed
/// socket is an error return, not a death.
static inline int ca_daemon_signals_open(void) {
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) return -1;
  const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
  sigset_t set;
  sigemptyset(&set);
  for (unsigned i = 0; i < sizeof handled / sizeof handled[0]; i++) {
    signal(handled[i], SIG_DFL);
    sigaddset(&set, handled[i]);
  }
  signal(SIGPIPE, SIG_IGN);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/// Waits up to `timeout_ms` for `fd` to become readable: 1 readable, 0 timed
/// out or interrupted, -1 error.
static inline int ca_daemon_wait(int fd, int timeout_ms) {
  struct pollfd p;
  p.fd = fd;
  p.events = POLLIN;
  p.revents = 0;
  int n = poll(&p, 1, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  return n > 0 ? 1 : 0;
}

/// The next pending signal number from the signalfd, or 0 when none is queued.
static inline int ca_daemon_next_signal(int fd) {
  struct signalfd_siginfo info;
  for (;;) {
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (n < 0 && errno == EINTR) continue;
    return 0;
  }
}

#endif
