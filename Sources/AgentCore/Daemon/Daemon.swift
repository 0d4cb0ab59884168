/// `camera-agent run`: the synchronous event loop that keeps the session
/// alive. One thread, one poll(2): it waits for a signal or the next timer
/// of the session state, feeds `SessionMachine` an event, performs the
/// action the machine asks for with `CloudClient`, and turns the outcome
/// into the next event.
///
/// Ordering rules the loop keeps (SPEC "Protocol contract"):
/// - new tokens are committed to the vault before they are used, the new
///   refresh token together with the access token it came with;
/// - each (re-)activation uses a new DPoP session key, stored with its tokens,
///   and records `lastActivation`;
/// - when the cloud ends the session, tokens and session key are destroyed
///   in the vault before anything else happens;
/// - a report follows each activation and each SIGUSR1; a failed report is
///   logged and never holds up the session.
///
/// Reports also go out every `report_interval_seconds` plus a random jitter
/// while active; a failed one is retried on its own backoff timer, which
/// never moves a session timer.
///
/// Log lines go through `Logger` (stderr and syslog) and never carry a token:
/// `LogMessage` refuses a `SecretBytes`, no token is ever turned into a
/// `String` here, and token-shaped text is masked anyway. Each change of the
/// state file also runs the configured hook (`TransitionHook`).
struct Daemon<Store: SlotStore> {
  typealias Client = BoardCloudClient

  private var vault: Vault<Store>
  private var config: AgentConfig
  /// Reads the configuration again (SIGHUP); nil when the file is now invalid.
  private let reloadConfig: () -> AgentConfig?
  /// Exit 0 once the session is active and a report was accepted.
  private let onceActive: Bool

  private var random = SystemRandom()
  private var client: Client? = nil
  private var contents: VaultContents? = nil
  private var state: SessionState = .unprovisioned
  private var stateName = "starting"
  private var published: String? = nil
  /// The device code of the grant in progress: a polling credential, so it
  /// is kept here and never published.
  private var deviceCode: String? = nil
  /// The session key in `client` was made for the grant in progress.
  private var grantKeyReady = false
  /// A report is owed after the current chain of events.
  private var reportDue = false
  /// SIGUSR1 arrived while the access token was refused: report after refresh.
  private var reportAfterRefresh = false
  private var reportAccepted = false
  /// The cloud refused this device's identity: nothing is retried until SIGHUP.
  private var parked = false
  /// Set when the loop must end (a vault that cannot be written).
  private var exitCode: Int32? = nil
  /// When the next periodic report (or the retry of a failed one) is due.
  private var nextReportAt: Int64? = nil
  /// Consecutive failed reports, for the report's own backoff.
  private var reportFailures = 0
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
    guard !config.server.isEmpty else {
      logger.error("server is not set in the configuration")
      return ExitCode.config
    }
    load()
    if exitCode == nil { ServiceNotify.fromEnvironment().ready() }
    while exitCode == nil {
      if onceActive, reportAccepted, case .active = state {
        log("active and reported; exiting (--once-active)")
        return ExitCode.ok
      }
      for signal in signals.wait(timeoutMilliseconds: millisecondsToNextTimer()) {
        switch signal {
        case .stop:
          log("stopping")
          ServiceNotify.fromEnvironment().stopping()
          publish(nil)
          return ExitCode.ok
        case .reload:
          reload()
        case .reportNow:
          log("report requested (SIGUSR1)")
          sendReport()
        }
        if exitCode != nil { break }
      }
      if exitCode == nil { feed(.tick) }
      if exitCode == nil, case .active = state, let due = nextReportAt, due <= now() {
        nextReportAt = nil
        sendReport()
      }
    }
    return exitCode ?? ExitCode.failure
  }

  // MARK: - Start-up and reload

  /// Opens the vault and starts the session from what it holds.
  private mutating func load() {
    let opened: VaultContents?
    do {
      opened = try vault.open()
    } catch {
      logger.error("vault: \(error.description)")
      exitCode = ExitCode.failure
      return
    }
    contents = opened
    parked = false
    deviceCode = nil
    grantKeyReady = false
    guard let opened, let identityDER = opened.identityKey else {
      logger.notice("not provisioned: run 'camera-agent provision', then send SIGHUP")
      feed(.loadedNothing)
      return
    }
    let identityKey: P256PrivateKey
    let sessionKey: P256PrivateKey
    do throws(CryptoError) {
      identityKey = try P256PrivateKey.fromDER(identityDER)
      if let der = opened.dpopKey {
        sessionKey = try P256PrivateKey.fromDER(der)
      } else {
        sessionKey = try P256PrivateKey.generate()
      }
    } catch {
      logger.error("vault keys: \(error.description)")
      exitCode = ExitCode.failure
      return
    }
    client = Client(
      config: config, deviceID: opened.deviceID, identityKey: identityKey, sessionKey: sessionKey,
      clock: client?.clock ?? ClockCorrection(clock: SystemWallClock()))
    // Discovery first: its Date header corrects a clock that booted at 1970
    // before any token expiry is compared. A failure here is retried by the
    // first step, under storm control.
    if case .failure(let error) = call({ _ throws(CloudError) in }) {
      logger.warning("discovery: \(error.description)")
    }
    if opened.accessToken != nil, opened.refreshToken != nil, opened.dpopKey != nil,
      let expiry = opened.accessTokenExpiry
    {
      feed(.loadedTokens(accessExpiresAt: expiry * 1_000))
    } else {
      feed(.loadedIdentityOnly)
    }
  }

  private mutating func reload() {
    guard let fresh = reloadConfig() else {
      logger.error("configuration reload failed; keeping the previous settings")
      return
    }
    config = fresh
    logger.configure(level: config.logLevel, syslogPath: config.syslogSocket)
    log("configuration reloaded")
    published = nil
    if client == nil || parked {
      load()
      return
    }
    if var rebuilt = client {
      rebuilt = Client(
        config: config, deviceID: rebuilt.deviceID, identityKey: rebuilt.identityKey,
        sessionKey: rebuilt.sessionKey, clock: rebuilt.clock)
      client = rebuilt
    }
    publish(state)
  }

  // MARK: - Driving the machine

  /// The session's clock: milliseconds since the epoch, corrected by the
  /// server's `Date` once learned. The vault keeps whole seconds.
  private func now() -> Int64 { client?.clock.nowMilliseconds() ?? SystemWallClock().milliseconds() }

  /// `1234` ms as `1.234`; whole seconds without a fraction.
  static func secondsText(_ milliseconds: Int64) -> String {
    let whole = milliseconds / 1_000
    let fraction = milliseconds % 1_000
    guard fraction != 0 else { return "\(whole)" }
    var digits = "\(fraction)"
    while digits.utf8.count < 3 { digits = "0" + digits }
    return "\(whole).\(digits)"
  }

  /// Feeds `event` and every event the resulting actions produce.
  private mutating func feed(_ first: SessionEvent) {
    var event: SessionEvent? = first
    while let current = event, exitCode == nil {
      let (next, action) = SessionMachine.next(state, current, now: now())
      transition(to: next)
      event = perform(action)
    }
    if reportDue, exitCode == nil {
      reportDue = false
      sendReport()
    }
  }

  private mutating func transition(to next: SessionState) {
    state = next
    if next.name != stateName {
      logger.notice("state \(stateName) -> \(next.name)")
      ServiceNotify.fromEnvironment().status(next.name)
      stateName = next.name
    }
    publish(next)
  }

  /// Rewrites the state file when its contents change.
  private mutating func publish(_ state: SessionState?) {
    let text = StateFile.render(state)
    guard text != published else { return }
    do {
      try StateFile(path: config.stateFile).write(text)
      published = text
    } catch {
      logger.error("state file \(config.stateFile): \(error.description)")
    }
    runHook(stateFileText: text)
  }

  /// Runs the configured hook with the state file's values; waits for it.
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

  private mutating func perform(_ action: SessionAction) -> SessionEvent? {
    switch action {
    case .requestDeviceCode: return requestDeviceCode()
    case .pollToken: return pollToken()
    case .refresh: return refresh()
    case .destroyTokens:
      destroyTokens()
      return nil
    case .newSessionKey:
      guard newSessionKey() else { return nil }
      return requestDeviceCode()
    case .publishApproval(let pending):
      log("waiting for the owner to approve code \(pending.userCode) at \(pending.verificationURI)")
      return nil
    case .wait:
      return nil
    }
  }

  /// Runs one cloud step, discovering the server first when needed.
  private mutating func call<T>(_ body: (inout Client) throws(CloudError) -> T) -> Result<T, CloudError> {
    guard client != nil else { return .failure(.notDiscovered) }
    let offset = client!.clock.offsetSeconds
    defer {
      if let learned = client?.clock.offsetSeconds, learned != offset {
        logger.notice("clock corrected from the server's Date: local clock + \(learned) s")
      }
    }
    do throws(CloudError) {
      if client!.metadata == nil { try client!.discover() }
      return .success(try body(&client!))
    } catch {
      return .failure(error)
    }
  }

  // MARK: - Actions

  private mutating func requestDeviceCode() -> SessionEvent? {
    if !grantKeyReady {
      do throws(CryptoError) {
        client?.sessionKey = try P256PrivateKey.generate()
      } catch {
        logger.error("session key: \(error.description)")
        return transientFailure(.networkError)
      }
      grantKeyReady = true
    }
    switch call({ client throws(CloudError) in try client.requestDeviceCode() }) {
    case .success(let authorization):
      deviceCode = authorization.deviceCode
      let now = now()
      return .deviceCodeIssued(
        PendingApproval(
          userCode: authorization.userCode, verificationURI: authorization.verificationURI,
          expiresAt: now + authorization.expiresIn * 1_000, interval: authorization.interval * 1_000,
          nextPollAt: now + authorization.interval * 1_000))
    case .failure(let error):
      return failed(error, step: "device authorization")
    }
  }

  private mutating func pollToken() -> SessionEvent? {
    guard let code = deviceCode else { return nil }
    switch call({ client throws(CloudError) in try client.pollToken(deviceCode: code) }) {
    case .success(.pending): return .authorizationPending
    case .success(.slowDown):
      logger.notice("the cloud asked to slow down (slow_down): polling 5 s less often from now on")
      return .slowDown
    case .success(.denied):
      log("the owner denied the request; asking for a new code")
      return .accessDenied
    case .success(.expired):
      log("the code expired before the owner approved; asking for a new one")
      return .expiredToken
    case .success(.tokens(let tokens)):
      let now = now()
      guard var updated = contents, let key = client?.sessionKey else { return nil }
      do throws(CryptoError) {
        updated.dpopKey = try key.derRepresentation()
      } catch {
        logger.error("session key: \(error.description)")
        exitCode = ExitCode.failure
        return nil
      }
      let expiry = now + (tokens.expiresIn ?? 300) * 1_000
      updated.accessToken = tokens.accessToken
      updated.refreshToken = tokens.refreshToken
      updated.accessTokenExpiry = expiry / 1_000
      updated.lastActivation = now / 1_000
      guard commit(updated) else { return nil }
      deviceCode = nil
      grantKeyReady = false
      reportDue = true
      log("activated")
      return .approved(accessExpiresAt: expiry)
    case .failure(let error):
      return failed(error, step: "token poll")
    }
  }

  private mutating func refresh() -> SessionEvent? {
    guard let refreshToken = contents?.refreshToken else {
      log("no refresh token in the vault; re-activating")
      return .revoked(startDelay: spreadDelay())
    }
    switch call({ client throws(CloudError) in try client.refresh(refreshToken: refreshToken) }) {
    case .success(.tokens(let tokens)):
      guard var updated = contents else { return nil }
      let expiry = now() + (tokens.expiresIn ?? 300) * 1_000
      updated.refreshToken = tokens.refreshToken ?? refreshToken
      updated.accessToken = tokens.accessToken
      updated.accessTokenExpiry = expiry / 1_000
      // The rotated refresh token is durable before the new access token is used.
      guard commit(updated) else { return nil }
      if reportAfterRefresh {
        reportAfterRefresh = false
        reportDue = true
      }
      return .refreshed(accessExpiresAt: expiry)
    case .success(.revoked(let error)):
      logger.notice("refresh refused (\(error.description)): the cloud ended the session")
      return .revoked(startDelay: spreadDelay())
    case .failure(let error):
      return failed(error, step: "refresh")
    }
  }

  /// Tokens and session key leave the vault before anything else happens.
  private mutating func destroyTokens() {
    guard var updated = contents else { return }
    updated.accessToken = nil
    updated.refreshToken = nil
    updated.accessTokenExpiry = nil
    updated.dpopKey = nil
    guard commit(updated) else { return }
    deviceCode = nil
    grantKeyReady = false
    log("session tokens and key destroyed in the vault")
  }

  /// A new DPoP key for the coming re-activation, stored before use.
  private mutating func newSessionKey() -> Bool {
    guard var updated = contents else { return false }
    let key: P256PrivateKey
    do throws(CryptoError) {
      key = try P256PrivateKey.generate()
      updated.dpopKey = try key.derRepresentation()
    } catch {
      logger.error("session key: \(error.description)")
      exitCode = ExitCode.failure
      return false
    }
    guard commit(updated) else { return false }
    client?.sessionKey = key
    grantKeyReady = true
    return true
  }

  private mutating func commit(_ updated: VaultContents) -> Bool {
    do throws(VaultError) {
      try vault.commit(updated, random: &random)
    } catch {
      logger.error("vault commit failed: \(error.description)")
      exitCode = ExitCode.failure
      return false
    }
    contents = updated
    return true
  }

  // MARK: - Reports

  private mutating func sendReport() {
    guard case .active = state, let contents, let token = contents.accessToken,
      let lastActivation = contents.lastActivation
    else {
      logger.warning("report skipped: no active session")
      return
    }
    guard let source = config.firmwareVersionSource else {
      logger.warning("report skipped: firmware_version_source is not set")
      return
    }
    let firmware: FirmwareVersion
    do throws(FirmwareVersionSource.Failure) {
      firmware = try source.load()
    } catch {
      logger.warning("report skipped: \(error.description)")
      return
    }
    let report = StatusReport(
      deviceID: contents.deviceID, firmwareVersion: firmware, lastActivation: lastActivation,
      agentVersion: AgentVersion.string)
    guard let body = report.body() else {
      logger.warning("report skipped: last activation time out of range")
      return
    }
    switch call({ client throws(CloudError) in try client.report(accessToken: token, body: body) }) {
    case .success(.accepted):
      log("report accepted")
      reportAccepted = true
      reportFailures = 0
      scheduleNextReport()
    case .success(.tokenRejected(let error)):
      logger.notice("report refused (\(error.description)): refreshing the access token")
      reportAfterRefresh = true
      // The access token is no longer good: the same event as a vault whose
      // token has just expired.
      feed(.loadedTokens(accessExpiresAt: now()))
    case .failure(let error):
      logger.warning("report failed: \(error.description)")
      retryReport(after: error.stormFailure)
    }
  }

  /// The next periodic report: the interval plus a random jitter.
  private mutating func scheduleNextReport() {
    guard config.reportIntervalSeconds > 0 else {
      nextReportAt = nil
      return
    }
    var jitter: Int64 = 0
    let span = UInt64(config.effectiveReportJitterSeconds)
    if span > 0 {
      do throws(CryptoError) {
        jitter = Int64(try random.uniform(below: span + 1))
      } catch {
        logger.warning("randomness: \(error.description); no jitter on this report")
      }
    }
    nextReportAt = now() + (Int64(config.reportIntervalSeconds) + jitter) * 1_000
    log("next report in \(Int64(config.reportIntervalSeconds) + jitter) s")
  }

  /// A failed report is tried again under the backoff policy, on the
  /// report's own timer: the session's timers never wait for it.
  private mutating func retryReport(after failure: StormPolicy.Failure) {
    var milliseconds = config.stormPolicy.backoffCapMilliseconds
    do throws(CryptoError) {
      milliseconds =
        try config.stormPolicy.delayAfter(failure: failure, attempt: reportFailures, random: &random)
        ?? milliseconds
    } catch {
      logger.warning("randomness: \(error.description); waiting the longest backoff")
    }
    reportFailures += 1
    nextReportAt = now() + max(1, milliseconds)
    log("report retry in \(Self.secondsText(max(1, milliseconds))) s")
  }

  // MARK: - Storm control

  /// The event for a step that threw: backoff for what may pass, nothing
  /// for a refused identity (no automatic retry), revocation for a refused
  /// session.
  private mutating func failed(_ error: CloudError, step: String) -> SessionEvent? {
    logger.warning("\(step): \(error.description)")
    let failure = error.stormFailure
    switch failure {
    case .authenticationFailed:
      if holdsSession(state) { return .revoked(startDelay: spreadDelay()) }
      parked = true
      logger.error("the cloud refused this device; not retrying until SIGHUP or restart")
      return nil
    case .slowDown:
      return .slowDown
    default:
      return transientFailure(failure)
    }
  }

  private mutating func transientFailure(_ failure: StormPolicy.Failure) -> SessionEvent {
    var attempt = 0
    if case .backoff(_, let failures, _) = state { attempt = failures }
    let policy = config.stormPolicy
    var milliseconds = policy.backoffCapMilliseconds
    do throws(CryptoError) {
      milliseconds =
        try policy.delayAfter(failure: failure, attempt: attempt, random: &random) ?? milliseconds
    } catch {
      logger.warning("randomness: \(error.description); waiting the longest backoff")
    }
    log("retrying in \(Self.secondsText(max(1, milliseconds))) s")
    return .transientFailure(retryIn: max(1, milliseconds))
  }

  /// Seconds until a forced re-authentication starts: random in the spread.
  private mutating func spreadDelay() -> Int64 {
    let policy = config.stormPolicy
    var milliseconds = policy.reauthSpreadMilliseconds
    do throws(CryptoError) {
      milliseconds = try policy.reauthStartDelay(random: &random)
    } catch {
      logger.warning("randomness: \(error.description); waiting the whole spread")
    }
    log("re-authenticating in \(Self.secondsText(milliseconds)) s")
    return milliseconds
  }

  private func holdsSession(_ state: SessionState) -> Bool {
    switch state {
    case .active, .refreshing: return true
    case .backoff(_, _, let resume): return holdsSession(resume)
    default: return false
    }
  }

  // MARK: - Timers

  /// Until the session's next timer, in milliseconds (a minute when none).
  private func millisecondsToNextTimer() -> Int64 {
    let wake: Int64?
    switch state {
    case .activationPending(let pending?), .reauthPending(let pending?):
      wake = min(pending.nextPollAt, pending.expiresAt)
    case .active(let expiresAt):
      let refreshAt = expiresAt - SessionMachine.refreshMargin
      wake = nextReportAt.map { min($0, refreshAt) } ?? refreshAt
    case .reauthRequired(let startAt):
      wake = startAt
    case .backoff(let retryAt, _, _):
      wake = retryAt == Int64.max ? nil : retryAt
    default:
      wake = nil
    }
    guard let wake, !parked else { return 60_000 }
    return min(max(0, wake - now()), 60_000)
  }

  private func log(_ message: LogMessage) { logger.info(message) }
}
