/// Runs the session core: feeds it one input, performs the effects it
/// returns in order with the cloud client and the vault, and feeds each
/// step's outcome back as the next input, in a loop (never by recursion),
/// until the core waits for a timer or a signal. Then it returns the
/// core's next wake-up, and the caller (the daemon's poll loop, or a
/// simulator's clock) calls `feed(.tick)` when it has come.
///
/// Ordering rules kept here (SPEC "Protocol contract"):
/// - new tokens are committed to the vault before the outcome reaches the
///   core and before they are used, the rotated refresh token with the
///   access token it came with, and with the session key they are bound to;
/// - `destroySession` commits the vault without tokens or session key
///   before any later effect runs;
/// - every step's HTTP answer is classified by `StepOutcome.classify`.
///
/// Generic over transport, randomness, clock, slot store and host, so the
/// board, the tests and the swarm simulator run exactly this code.
public struct SessionDriver<
  Transport: HTTPTransport, Random: RandomSource, Clock: WallClock, Store: SlotStore, Host: SessionHost
> {
  public typealias Client = CloudClient<Transport, Random, Clock>

  public private(set) var core = SessionCore()
  public var settings: SessionSettings
  public private(set) var vault: Vault<Store>
  public private(set) var contents: VaultContents? = nil
  public var host: Host
  /// The corrected clock; handed to the client for each step and read back.
  public private(set) var clock: ClockCorrection<Clock>
  public private(set) var client: Client? = nil
  /// Why the driver cannot go on (the vault cannot be read or written);
  /// the daemon exits with a failure and its supervisor restarts it.
  public private(set) var fatal: LogMessage? = nil
  /// Reports the cloud accepted since start (`run --once-active`).
  public private(set) var reportsAccepted = 0
  /// Transitions in the last `feed` call: bounded by the policy (a report,
  /// its one refresh and the report again), checked by the simulator.
  public private(set) var lastChainLength = 0

  private var random: Random
  private var makeClient: (String, P256PrivateKey, P256PrivateKey, ClockCorrection<Clock>) -> Client
  /// Where the vault's identity key is reached (`identity_key =`): the
  /// daemon sets it from its configuration before `start` and on reload.
  public var identityStorage: IdentityKeyStorage = .software
  /// The device code of the grant in progress: a polling credential, kept
  /// here and never published.
  private var deviceCode: String? = nil
  /// The state name last published, for the `state OLD -> NEW` log line.
  private var publishedName = "starting"

  public init(
    vault: Vault<Store>, settings: SessionSettings, host: Host, clock: ClockCorrection<Clock>, random: Random,
    makeClient: @escaping (String, P256PrivateKey, P256PrivateKey, ClockCorrection<Clock>) -> Client
  ) {
    self.vault = vault
    self.settings = settings
    self.host = host
    self.clock = clock
    self.random = random
    self.makeClient = makeClient
  }

  /// The corrected time in milliseconds: what the core's timers mean.
  public func now() -> Int64 { clock.nowMilliseconds() }

  /// Reads the vault and starts the core. Returns the first wake-up.
  public mutating func start() -> Int64? {
    guard let view = openVault() else { return nil }
    // Issue 11: the agent's time starts from the vault's time floor (the
    // build time, or the latest trustworthy time seen, never backwards).
    clock = ClockCorrection(
      clock: clock.clock, floor: TimeFloor(buildTime: AgentVersion.buildFloor, stored: contents?.timeFloor))
    for notice in clock.takeNotices() { host.log(.notice, "\(notice.message)") }
    var seed: UInt64 = 0
    do throws(CryptoError) {
      seed = try random.uniform(below: UInt64.max)
    } catch {
      host.log(.warning, "randomness: \(error.description); jitter from the clock instead")
      seed = UInt64(truncatingIfNeeded: now())
    }
    return feed(.start(view, seed: seed))
  }

  /// SIGHUP: new settings, a client built from the new configuration (the
  /// keys carried over), and a fresh look at the vault.
  public mutating func reload(
    settings fresh: SessionSettings,
    makeClient factory: @escaping (String, P256PrivateKey, P256PrivateKey, ClockCorrection<Clock>) -> Client
  ) -> Int64? {
    settings = fresh
    makeClient = factory
    if let current = client {
      client = factory(current.deviceID, current.identityKey, current.sessionKey, clock)
    }
    guard let view = openVault() else { return nil }
    return feed(.reloaded(view))
  }

  /// Feeds `input` and every outcome that follows from it. Returns the
  /// core's next wake-up (nil: none, or `fatal` is set).
  public mutating func feed(_ input: SessionInput) -> Int64? {
    var next: SessionInput? = input
    lastChainLength = 0
    while let current = next, fatal == nil {
      next = nil
      let transition = SessionCore.next(core, current, now: now(), settings: settings)
      core = transition.core
      lastChainLength += 1
      for effect in transition.effects where fatal == nil {
        switch effect {
        case .send(let step):
          // SIGTERM between two steps stops the chain here.
          next = host.stopRequested() ? .stop : .completed(step, perform(step))
        case .destroySession:
          destroySession()
        case .newSessionKey:
          newSessionKey()
        case .publish:
          let name = core.published.name
          if Word(name) != Word(publishedName) {
            host.log(.notice, "state \(publishedName) -> \(name)")
            publishedName = name
          }
          host.publish(core.published)
        case .note(let note):
          log(note)
        }
      }
    }
    return fatal == nil ? core.wake : nil
  }

  // MARK: - Vault

  private mutating func openVault() -> VaultView? {
    let opened: VaultContents?
    do throws(VaultError) {
      opened = try vault.open()
    } catch {
      fatal = "vault: \(error.description)"
      return nil
    }
    contents = opened
    guard let opened, opened.hasIdentity else {
      client = nil
      return .empty
    }
    // The vault's one owner from here on (the board was unprovisioned at
    // start, or this is a no-op: ownership is kept).
    do throws(VaultError) {
      try vault.takeOwnership()
    } catch {
      fatal = "vault: \(error.description)"
      return nil
    }
    do throws(CryptoError) {
      let identity = try identityStorage.load(opened)
      var session: P256PrivateKey? = nil
      if let der = opened.dpopKey { session = try P256PrivateKey.fromDER(der) }
      if let current = client, Word(current.deviceID) == Word(opened.deviceID) {
        if let session { client?.sessionKey = session }
      } else {
        let key: P256PrivateKey
        if let session { key = session } else { key = try P256PrivateKey.generate() }
        client = makeClient(opened.deviceID, identity, key, clock)
      }
    } catch {
      fatal = "vault keys: \(error.description)"
      return nil
    }
    // A session needs its refresh token and the key its tokens are bound
    // to; the access token and its expiry are a bonus (refreshed first
    // when missing).
    if opened.refreshToken != nil, opened.dpopKey != nil {
      let expiry = opened.accessToken == nil ? nil : opened.accessTokenExpiry.map { $0 * 1_000 }
      return .session(accessExpiresAt: expiry)
    }
    return .identityOnly
  }

  private mutating func commit(_ proposed: VaultContents) -> Bool {
    var updated = proposed
    host.prepareCommit(&updated)
    // Issue 11: the time floor rides along with commits that happen anyway.
    updated.timeFloor = clock.floor.valueToStore()
    let outcome: VaultCommitOutcome
    do throws(VaultError) {
      outcome = try vault.commit(updated, random: &random)
    } catch {
      fatal = "vault commit failed: \(error.description)"
      return false
    }
    if case .committedDestroyPending(let why) = outcome {
      // Committed; the older record with the destroyed secrets is still on
      // the medium until the vault's next write retries its erase.
      host.log(.warning, "vault: the older record could not be erased yet: \(why)")
    }
    if vault.counterIncrementPending {
      // Durable, one ahead of the TPM counter: the next commit (or the next
      // start) increments first, so nothing is lost; a TPM that keeps
      // failing is worth a line.
      host.log(
        .warning,
        "vault: committed, but the anti-rollback counter increment failed; retried at the next commit")
    }
    contents = updated
    host.committed(updated)
    return true
  }

  /// Tokens and session key leave the vault before anything else happens.
  private mutating func destroySession() {
    deviceCode = nil
    guard var updated = contents else { return }
    updated.accessToken = nil
    updated.refreshToken = nil
    updated.accessTokenExpiry = nil
    updated.dpopKey = nil
    guard commit(updated) else { return }
    host.log(.info, "session tokens and key destroyed in the vault")
  }

  private mutating func newSessionKey() {
    deviceCode = nil
    do throws(CryptoError) {
      client?.sessionKey = try P256PrivateKey.generate()
    } catch {
      fatal = "session key: \(error.description)"
    }
  }

  // MARK: - Steps

  private mutating func perform(_ step: SessionStep) -> StepOutcome {
    switch step {
    case .deviceAuthorization: return requestDeviceCode()
    case .tokenPoll: return pollToken()
    case .refresh: return refresh()
    case .report: return sendReport()
    }
  }

  /// Runs one cloud step (discovering the server first when needed) and
  /// takes back the clock the step may have corrected.
  private mutating func call<T>(
    _ step: String, _ body: (inout Client) throws(CloudError) -> T
  ) -> Result<T, CloudError> {
    guard client != nil else { return .failure(.notDiscovered) }
    client!.clock = clock
    defer {
      if let learned = client?.clock {
        clock = learned
        // Issue 11: each clock decision (correction, refusal, NTP) logged once.
        for notice in clock.takeNotices() { host.log(.notice, "\(notice.message)") }
      }
    }
    do throws(CloudError) {
      if client!.metadata == nil { try client!.discover() }
      return .success(try body(&client!))
    } catch {
      host.log(.warning, "\(step): \(error.description)")
      return .failure(error)
    }
  }

  private mutating func requestDeviceCode() -> StepOutcome {
    switch call("device authorization", { client throws(CloudError) in try client.requestDeviceCode() }) {
    case .success(let authorization):
      deviceCode = authorization.deviceCode
      return .issued(
        DeviceCodeGrant(
          userCode: authorization.userCode, verificationURI: authorization.verificationURI,
          expiresInMs: authorization.expiresIn * 1_000, intervalMs: authorization.interval * 1_000))
    case .failure(let error):
      return .classify(error)
    }
  }

  private mutating func pollToken() -> StepOutcome {
    guard let code = deviceCode else { return .expired }
    switch call("token poll", { client throws(CloudError) in try client.pollToken(deviceCode: code) }) {
    case .success(.pending): return .pending
    case .success(.slowDown): return .slowDown
    case .success(.denied): return .denied
    case .success(.expired): return .expired
    case .success(.tokens(let tokens)):
      guard var updated = contents, let key = client?.sessionKey else { return .unavailable(.network) }
      do throws(CryptoError) {
        updated.dpopKey = try key.derRepresentation()
      } catch {
        fatal = "session key: \(error.description)"
        return .unavailable(.network)
      }
      let now = now()
      updated.accessToken = tokens.accessToken
      updated.refreshToken = tokens.refreshToken
      updated.accessTokenExpiry =
        (now + (tokens.expiresIn ?? settings.defaultLifetimeMs / 1_000) * 1_000) / 1_000
      updated.lastActivation = now / 1_000
      guard commit(updated) else { return .unavailable(.network) }
      deviceCode = nil
      return .tokens(lifetimeMs: tokens.expiresIn.map { $0 * 1_000 })
    case .failure(let error):
      return .classify(error)
    }
  }

  private mutating func refresh() -> StepOutcome {
    guard let refreshToken = contents?.refreshToken else { return .sessionEnded }
    switch call("refresh", { client throws(CloudError) in try client.refresh(refreshToken: refreshToken) }) {
    case .success(.tokens(let tokens)):
      guard var updated = contents else { return .unavailable(.network) }
      updated.refreshToken = tokens.refreshToken ?? refreshToken
      updated.accessToken = tokens.accessToken
      updated.accessTokenExpiry =
        (now() + (tokens.expiresIn ?? settings.defaultLifetimeMs / 1_000) * 1_000) / 1_000
      // The rotated refresh token is durable before the new access token is used.
      guard commit(updated) else { return .unavailable(.network) }
      return .tokens(lifetimeMs: tokens.expiresIn.map { $0 * 1_000 })
    case .success(.revoked(let error)):
      host.log(.notice, "refresh refused (\(error.description)): the cloud ended the session")
      return .sessionEnded
    case .failure(let error):
      return .classify(error)
    }
  }

  private mutating func sendReport() -> StepOutcome {
    guard let contents, let token = contents.accessToken else { return .tokenRejected }
    guard let body = host.reportBody(contents) else { return .notAttempted }
    switch call("report", { client throws(CloudError) in try client.report(accessToken: token, body: body) })
    {
    case .success(.accepted):
      reportsAccepted += 1
      return .accepted
    case .success(.tokenRejected(let error)):
      host.log(.notice, "report refused (\(error.description))")
      return .tokenRejected
    case .failure(let error):
      return .classify(error)
    }
  }

  // MARK: - Log

  private mutating func log(_ note: SessionNote) {
    switch note {
    case .startingIn(let ms): host.log(.info, "starting in \(DurationText.seconds(ms)) s")
    case .notProvisioned:
      host.log(.notice, "not provisioned: run 'camera-agent provision', then send SIGHUP")
    case .waitingForOwner(let ms):
      // The code itself is in the state file and the hook, never in the log
      // (syslog is often forwarded off the device).
      host.log(
        .info, "waiting for the owner to approve the pairing code (valid \(DurationText.seconds(ms)) s)")
    case .slowedDown(let interval):
      host.log(
        .notice, "the cloud asked to slow down (slow_down): polling every \(DurationText.seconds(interval)) s"
      )
    case .codeLapsed(let denied, let next):
      host.log(
        .info,
        "\(denied ? "the owner denied the request" : "the code expired unapproved"); next code in \(DurationText.seconds(next)) s (SIGUSR1 or 'camera-agent pair' for one now)"
      )
    case .activated: host.log(.info, "activated")
    case .lifetimeRaised(let from, let to):
      host.log(
        .notice,
        "the cloud's token lifetime (\(DurationText.seconds(from)) s) is below \(DurationText.seconds(to)) s: refreshing no more than the floor allows"
      )
    case .nextRefreshIn(let ms): host.log(.debug, "next refresh in \(DurationText.seconds(ms)) s")
    case .retryIn(let step, let ms):
      host.log(.info, "\(Self.stepName(step)): retrying in \(DurationText.seconds(ms)) s")
    case .sessionEnded(let ms):
      host.log(.notice, "the cloud ended the session; re-authenticating in \(DurationText.seconds(ms)) s")
    case .identityRefused(let ms):
      host.log(
        .error,
        "the cloud refused this device's identity; keeping the session, next try in \(DurationText.seconds(ms)) s (SIGHUP to try now)"
      )
    case .reportAccepted(let next):
      if let next {
        host.log(.info, "report accepted; next report in \(DurationText.seconds(next)) s")
      } else {
        host.log(.info, "report accepted")
      }
    case .reportRefused(let refreshing, let ms):
      host.log(
        .notice,
        refreshing
          ? "report: access token refused; refreshing in \(DurationText.seconds(ms)) s"
          : "report: a fresh access token was refused too; report retry in \(DurationText.seconds(ms)) s")
    case .reportWaitsForRefresh(let ms):
      host.log(.info, "report waits for the refresh in \(DurationText.seconds(ms)) s")
    case .triggerIgnored: host.log(.info, "trigger ignored in state \(core.published.name)")
    case .unexpected(let step):
      host.log(.warning, "an outcome of \(Self.stepName(step)) arrived out of turn; ignored")
    case .stopping: host.log(.info, "stopping")
    }
  }

  static func stepName(_ step: SessionStep) -> String {
    switch step {
    case .deviceAuthorization: return "device authorization"
    case .tokenPoll: return "token poll"
    case .refresh: return "refresh"
    case .report: return "report"
    }
  }
}
