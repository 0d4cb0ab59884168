import CAgentSys

/// What a signal asks of the daemon (SPEC "Local state interface").
enum DaemonSignal: Equatable {
  /// SIGTERM or SIGINT: stop cleanly, exit 0.
  case stop
  /// SIGHUP: read the configuration file again.
  case reload
  /// SIGUSR1: send a status report now.
  case reportNow
  /// SIGUSR2 (`camera-agent pair`, the pairing button): pair this camera.
  case pair
}

/// The daemon's signals as readable input: a signalfd over SIGTERM, SIGINT,
/// SIGHUP, SIGUSR1 and SIGUSR2 (see `shim_daemon.h`), so the event loop waits for a
/// signal and its next timer in one poll(2) and no Swift runs in a handler.
struct SignalSource {
  let fd: Int32

  /// Clears whatever signal mask the parent handed down, then routes the
  /// five signals to the descriptor.
  static func open() throws(SystemError) -> SignalSource {
    let fd = ca_daemon_signals_open()
    guard fd >= 0 else { throw .last("signalfd") }
    return SignalSource(fd: fd)
  }

  /// Waits until a signal arrives or `timeoutMilliseconds` pass (at most a
  /// minute, so a timer far ahead is still re-checked), and returns every
  /// signal that is queued, oldest first.
  func wait(timeoutMilliseconds: Int64) -> [DaemonSignal] {
    let timeout = Int32(min(max(timeoutMilliseconds, 0), 60_000))
    guard ca_daemon_wait(fd, timeout) == 1 else { return [] }
    var signals: [DaemonSignal] = []
    while true {
      let number = ca_daemon_next_signal(fd)
      if number == 0 { break }
      if number == ca_sig_term() || number == ca_sig_int() {
        signals.append(.stop)
      } else if number == ca_sig_hup() {
        signals.append(.reload)
      } else if number == ca_sig_usr1() {
        signals.append(.reportNow)
      } else if number == ca_sig_usr2() {
        signals.append(.pair)
      }
    }
    return signals
  }
}
