import CAgentSys

/// `camera-agent run`: the board's event loop around `SessionDriver`. One
/// thread, one poll(2) over a signalfd and a timerfd armed at the session
/// core's next wake-up (exactly then: no periodic polling, so an idle camera
/// wakes only for its reports and refreshes; `TFD_TIMER_CANCEL_ON_SET`
/// wakes it at once when the wall clock is stepped). Signals become core
/// inputs: SIGTERM/SIGINT stop, SIGHUP reloads, SIGUSR1 is the local
/// trigger (a report now while active, a fresh pairing code while pairing).
///
/// All behaviour lives in the core; this file only waits and translates.
struct Daemon<Store: SlotStore> {
  typealias Driver = SessionDriver<CurlTransport, SystemRandom, SystemWallClock, Store, BoardHost>

  private var config: AgentConfig
  private let vault: Vault<Store>
  /// Reads the configuration again (SIGHUP); nil when the file is now invalid.
  private let reloadConfig: () -> AgentConfig?
  /// Exit 0 once the session is active and a report was accepted.
  private let onceActive: Bool
  private let logger: Logger

  init(vault: Vault<Store>, config: AgentConfig, onceActive: Bool, reloadConfig: @escaping () -> AgentConfig?)
  {
    self.vault = vault
    self.config = config
    self.onceActive = onceActive
    self.reloadConfig = reloadConfig
    self.logger = Logger(
      level: config.logLevel, syslogPath: config.syslogSocket, clock: { SystemWallClock().seconds() })
  }

  mutating func run() -> Int32 {
    let signals: SignalSource
    do {
      signals = try SignalSource.open()
    } catch {
      logger.error("cannot set up signals: \(error.description)")
      return ExitCode.software
    }
    let timer = ca_timer_open()
    guard timer >= 0 else {
      logger.error("cannot set up the timer: \(SystemError.last("timerfd_create").description)")
      return ExitCode.software
    }
    defer { _ = close(timer) }
    guard !config.server.isEmpty else {
      logger.error("server is not set in the configuration")
      return ExitCode.config
    }
    let config = self.config
    var driver = Driver(
      vault: vault, settings: config.sessionSettings,
      host: BoardHost(config: config, logger: logger, signals: signals),
      clock: ClockCorrection(clock: SystemWallClock()), random: SystemRandom(),
      makeClient: { deviceID, identity, session, clock in
        BoardCloudClient(
          config: config, deviceID: deviceID, identityKey: identity, sessionKey: session, clock: clock)
      })
    driver.identityStorage = config.identityKeyStorage
    var wake = driver.start()
    // systemd Type=notify: ready once the vault is open and the session runs.
    if driver.fatal == nil { driver.host.notify.ready() }
    while true {
      if let fatal = driver.fatal {
        logger.error(fatal)
        return ExitCode.failure
      }
      if case .stopped = driver.core.phase {
        driver.host.notify.stopping()
        driver.host.publishStopped()
        return ExitCode.ok
      }
      if onceActive, driver.reportsAccepted > 0, case .active = driver.core.phase {
        logger.info("active and reported; exiting (--once-active)")
        driver.host.publishStopped()
        return ExitCode.ok
      }
      let timerFired = sleep(until: wake, timer: timer, signals: signals, driver: &driver)
      var inputs = driver.host.pending
      driver.host.pending = []
      inputs += signals.wait(timeoutMilliseconds: 0)
      if inputs.contains(.stop) {
        wake = driver.feed(.stop)
        continue
      }
      for signal in inputs where driver.fatal == nil {
        switch signal {
        case .stop:
          break
        case .reload:
          wake = reload(&driver) ?? wake
        case .reportNow:
          logger.info("local trigger (SIGUSR1)")
          wake = driver.feed(.trigger)
        case .pair:
          logger.info("pairing requested (SIGUSR2)")
          wake = driver.feed(.pair)
        }
      }
      if timerFired || (wake.map { $0 <= driver.now() } ?? false) {
        wake = driver.feed(.tick)
      }
    }
  }

  /// Sleeps until the wake-up (none: until a signal). Returns whether the
  /// timer fired or the wall clock was stepped (both mean: look again).
  private func sleep(until wake: Int64?, timer: Int32, signals: SignalSource, driver: inout Driver) -> Bool {
    if let wake {
      // The core's times are on the corrected clock; the timer runs on the
      // system clock.
      let offset = driver.now() - SystemWallClock().milliseconds()
      if ca_timer_arm(timer, wake - offset) != 0 {
        logger.warning("timer: \(SystemError.last("timerfd_settime").description); waking in a second")
        _ = ca_daemon_wait_both(signals.fd, -1, 1_000)
        return true
      }
    } else {
      _ = ca_timer_disarm(timer)
    }
    let ready = ca_daemon_wait_both(signals.fd, timer, -1)
    guard ready & 2 != 0 else { return false }
    return ca_timer_drain(timer) != 0
  }

  private mutating func reload(_ driver: inout Driver) -> Int64? {
    guard let fresh = reloadConfig() else {
      logger.error("configuration reload failed; keeping the previous settings")
      return nil
    }
    // Issue 12: a session is never carried to another issuer by a reload.
    if let contents = driver.contents, let refusal = SessionBinding.reloadRefusal(contents, config: fresh) {
      logger.error("\(refusal); keeping the previous settings")
      return nil
    }
    config = fresh
    logger.configure(level: fresh.logLevel, syslogPath: fresh.syslogSocket)
    logger.info("configuration reloaded")
    driver.host.config = fresh
    driver.host.forgetPublished()
    driver.identityStorage = fresh.identityKeyStorage
    let wake = driver.reload(
      settings: fresh.sessionSettings,
      makeClient: { deviceID, identity, session, clock in
        BoardCloudClient(
          config: fresh, deviceID: deviceID, identityKey: identity, sessionKey: session, clock: clock)
      })
    driver.host.publish(driver.core.published)
    return wake
  }
}
