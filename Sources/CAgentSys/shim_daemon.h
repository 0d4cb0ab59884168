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
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static inline int ca_sig_term(void) { return SIGTERM; }
static inline int ca_sig_int(void) { return SIGINT; }
static inline int ca_sig_hup(void) { return SIGHUP; }
static inline int ca_sig_usr1(void) { return SIGUSR1; }
static inline int ca_sig_usr2(void) { return SIGUSR2; }

/// Unblocks every signal a parent handed down blocked, restores the default
/// action of the five the daemon handles (an ignored signal would never reach
/// the signalfd), then blocks exactly those five and returns a signalfd that
/// reports them (-1 with errno on failure). SIGPIPE stays ignored: a closed
/// socket is an error return, not a death.
static inline int ca_daemon_signals_open(void) {
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) return -1;
  const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
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

/// A CLOCK_REALTIME timerfd for the session's next wake-up (-1 with errno).
/// Armed with an absolute time and TFD_TIMER_CANCEL_ON_SET, so a step of the
/// wall clock (NTP, an RTC set late) wakes the loop at once instead of
/// leaving it asleep until a time that no longer means what it meant.
static inline int ca_timer_open(void) {
  return timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
}

/// Arms `fd` to fire at `wall_ms` (milliseconds since the epoch on the
/// system clock); a time in the past fires at once. 0 or -1 with errno.
static inline int ca_timer_arm(int fd, int64_t wall_ms) {
  struct itimerspec spec;
  memset(&spec, 0, sizeof spec);
  if (wall_ms < 1) wall_ms = 1;
  spec.it_value.tv_sec = (time_t)(wall_ms / 1000);
  spec.it_value.tv_nsec = (long)(wall_ms % 1000) * 1000000L;
  return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL);
}

/// Disarms `fd` (nothing to wake for: waiting for a signal only).
static inline int ca_timer_disarm(int fd) {
  struct itimerspec spec;
  memset(&spec, 0, sizeof spec);
  return timerfd_settime(fd, 0, &spec, NULL);
}

/// Drains `fd`: 1 it fired, 2 the wall clock was set (the timer was
/// cancelled and must be armed again), 0 nothing pending.
static inline int ca_timer_drain(int fd) {
  uint64_t expirations = 0;
  ssize_t n = read(fd, &expirations, sizeof expirations);
  if (n == (ssize_t)sizeof expirations) return 1;
  if (n < 0 && errno == ECANCELED) return 2;
  return 0;
}

/// Waits for a signal on `signal_fd` or the timer on `timer_fd` (no timeout:
/// the timer is the timeout). Bit 1: a signal is queued; bit 2: the timer
/// is readable; 0 interrupted; -1 error.
static inline int ca_daemon_wait_both(int signal_fd, int timer_fd, int timeout_ms) {
  struct pollfd p[2];
  p[0].fd = signal_fd;
  p[0].events = POLLIN;
  p[0].revents = 0;
  p[1].fd = timer_fd;
  p[1].events = POLLIN;
  p[1].revents = 0;
  int n = poll(p, 2, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  return (p[0].revents ? 1 : 0) | (p[1].revents ? 2 : 0);
}

#endif
