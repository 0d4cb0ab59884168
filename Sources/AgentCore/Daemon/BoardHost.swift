/// The session driver's host on a board: the state file and hook (the local
/// state interface), the logger (stderr and syslog), the configured
/// firmware-version source, and the signalfd checked between steps.
struct BoardHost: SessionHost {
  var config: AgentConfig
  let logger: Logger
  let signals: SignalSource
  /// Signals read while checking for SIGTERM between steps, for the loop.
  var pending: [DaemonSignal] = []
  private var published: String? = nil

  init(config: AgentConfig, logger: Logger, signals: SignalSource) {
    self.config = config
    self.logger = logger
    self.signals = signals
  }

  /// systemd's notify socket (NOTIFY_SOCKET), when there is one.
  let notify = ServiceNotify.fromEnvironment()

  mutating func publish(_ state: PublishedState) {
    notify.status(state.name)
    write(StateFile.render(state))
  }

  /// `state=stopped` on the way out.
  mutating func publishStopped() {
    write(StateFile.render(nil))
  }

  /// Rewrites the state file when its contents change, then runs the hook.
  private mutating func write(_ text: String) {
    guard !Word.same(text, published) else { return }
    do {
      try StateFile(path: config.stateFile).write(text)
      published = text
    } catch {
      logger.error("state file \(config.stateFile): \(error.description)")
    }
    runHook(stateFileText: text)
  }

  /// SIGHUP: the next write goes out even if unchanged (a new hook, say).
  mutating func forgetPublished() { published = nil }

  private func runHook(stateFileText: String) {
    guard let path = config.hook else { return }
    let hook = TransitionHook(path: path, timeoutMilliseconds: config.hookTimeoutMs)
    switch hook.run(environment: TransitionHook.environment(stateFileText: stateFileText)) {
    case .exited(0):
      break
    case .exited(let status):
      logger.warning("hook \(path) exited \(status)")
    case .killedAfterTimeout:
      logger.warning("hook \(path) still running after \(config.hookTimeoutMs) ms; killed")
    case .notStarted(let error):
      logger.error("hook: \(error.description)")
    }
  }

  func log(_ level: LogLevel, _ message: LogMessage) { logger.log(level, message) }

  func reportBody(_ contents: VaultContents) -> [UInt8]? {
    guard let lastActivation = contents.lastActivation else {
      logger.warning("report skipped: no activation time in the vault")
      return nil
    }
    guard let source = config.firmwareVersionSource else {
      logger.warning("report skipped: firmware_version_source is not set")
      return nil
    }
    let firmware: FirmwareVersion
    do throws(FirmwareVersionSource.Failure) {
      firmware = try source.load()
    } catch {
      logger.warning("report skipped: \(error.description)")
      return nil
    }
    let report = StatusReport(
      deviceID: contents.deviceID, firmwareVersion: firmware, lastActivation: lastActivation,
      agentVersion: AgentVersion.string)
    guard let body = report.body() else {
      logger.warning("report skipped: last activation time out of range")
      return nil
    }
    return body
  }

  mutating func stopRequested() -> Bool {
    pending += signals.wait(timeoutMilliseconds: 0)
    return pending.contains(.stop)
  }

  /// Issue 12: the record names the issuer and API base of the tokens it holds.
  func prepareCommit(_ contents: inout VaultContents) { SessionBinding.record(&contents, config: config) }

  func committed(_ contents: VaultContents) {}
}
