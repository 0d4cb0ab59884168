import AgentCore
import Testing

/// Unit tests of the session core's policy rules, one per rule, through
/// `SessionCore.next` only (the function the board and the simulators run).
@Suite struct SessionCoreTests {
  static let t0: Int64 = 1_800_000_000_000

  static func settings() -> SessionSettings {
    var settings = SessionSettings(storm: StormPolicy(reauthSpreadMilliseconds: 600_000))
    settings.startupDelayMs = 0
    settings.reportIntervalMs = 3_600_000
    settings.reportJitterMs = 0
    // Most tests follow the report right after activation; the delay has its own test.
    settings.activationReportDelayMs = 0
    return settings
  }

  static let grant = DeviceCodeGrant(
    userCode: "WDJB-MJHT", verificationURI: "https://cloud.test/device", expiresInMs: 600_000,
    intervalMs: 5_000)

  /// A core and its clock, fed like the driver feeds it.
  struct Device {
    var core = SessionCore()
    var now = SessionCoreTests.t0
    var settings = SessionCoreTests.settings()
    var effects: [SessionEffect] = []
    var wake: Int64? = nil

    @discardableResult
    mutating func feed(_ input: SessionInput) -> [SessionEffect] {
      let transition = SessionCore.next(core, input, now: now, settings: settings)
      core = transition.core
      effects = transition.effects
      wake = transition.wake
      return effects
    }

    var sent: SessionStep? {
      for effect in effects { if case .send(let step) = effect { return step } }
      return nil
    }

    /// Advances to the wake-up and ticks.
    mutating func tickAtWake() {
      guard let wake else { return }
      now = max(now, wake)
      feed(.tick)
    }

    /// Starts with a session whose access token lives `lifetime` ms.
    static func active(lifetime: Int64, settings: SessionSettings = SessionCoreTests.settings()) -> Device {
      var device = Device()
      device.settings = settings
      device.feed(.start(.identityOnly, seed: 7))
      device.feed(.completed(.deviceAuthorization, .issued(SessionCoreTests.grant)))
      device.now += 5_000
      device.feed(.tick)
      device.feed(.completed(.tokenPoll, .tokens(lifetimeMs: lifetime)))
      // The report after activation.
      if device.sent == .report { device.feed(.completed(.report, .accepted)) }
      return device
    }
  }

  @Test func startFollowsTheVault() {
    var device = Device()
    device.feed(.start(.empty, seed: 1))
    #expect(device.core.phase == .unprovisioned)
    #expect(device.wake == nil)
    device = Device()
    device.feed(.start(.identityOnly, seed: 1))
    #expect(device.effects.contains(.newSessionKey))
    #expect(device.sent == .deviceAuthorization)
    device = Device()
    device.feed(.start(.session(accessExpiresAt: Self.t0 + 10_000), seed: 1))
    #expect(device.sent == .refresh, "a token that expires within the margin is refreshed first")
  }

  @Test func startUpDelayIsRandomAndBounded() {
    var delays = Set<Int64>()
    for seed in 0..<50 as Range<UInt64> {
      var device = Device()
      device.settings.startupDelayMs = 5_000
      device.feed(.start(.identityOnly, seed: seed))
      #expect(device.sent == nil, "no request before the start-up delay")
      guard let wake = device.wake else {
        Issue.record("no wake-up")
        continue
      }
      #expect(wake >= Self.t0 && wake <= Self.t0 + 5_000)
      delays.insert(wake - Self.t0)
      device.tickAtWake()
      #expect(device.sent == .deviceAuthorization)
    }
    #expect(delays.count > 40, "a fleet booted together spreads out")
  }

  /// The report after an activation goes at a random point of the window,
  /// not at once: a fleet whose owners approve together reports spread out.
  @Test func theReportAfterAnActivationIsSpreadOverItsWindow() {
    var settings = Self.settings()
    settings.activationReportDelayMs = 1_800_000
    var dues = Set<Int64>()
    for seed in UInt64(1)...40 {
      var device = Device()
      device.settings = settings
      device.feed(.start(.identityOnly, seed: seed))
      device.feed(.completed(.deviceAuthorization, .issued(Self.grant)))
      device.now += 5_000
      device.feed(.tick)
      device.feed(.completed(.tokenPoll, .tokens(lifetimeMs: 3_600_000)))
      let activatedAt = device.now
      #expect(device.sent == nil, "seed \(seed): no report the instant the device is back")
      guard let due = device.core.report.dueAt else {
        Issue.record("seed \(seed): no report scheduled after the activation")
        continue
      }
      #expect(due >= activatedAt && due <= activatedAt + settings.activationReportDelayMs)
      #expect(device.wake == due, "the device wakes for that report (its refresh is later)")
      dues.insert(due - activatedAt)
      device.tickAtWake()
      #expect(device.sent == .report)
    }
    #expect(dues.count > 35, "the delays are spread: \(dues.count) distinct of 40")
  }

  @Test func aRestartWithASessionSchedulesThePeriodicReport() {
    var device = Device()
    device.feed(.start(.session(accessExpiresAt: Self.t0 + 3_000_000), seed: 3))
    #expect(device.sent == nil)
    guard case .some(let due) = device.core.report.dueAt else {
      Issue.record("no report scheduled after a restart")
      return
    }
    #expect(due >= Self.t0 && due <= Self.t0 + device.settings.reportIntervalMs)
    #expect(device.wake == min(due, Self.t0 + 3_000_000 - 30_000))
  }

  /// Refresh at the later of half the lifetime and expiry minus the margin,
  /// never sooner than the floor.
  @Test(
    arguments: [
      (1_000, 60_000), (20_000, 60_000), (30_000, 60_000), (45_000, 60_000), (61_000, 60_000),
      (120_000, 90_000), (300_000, 270_000), (3_600_000, 3_570_000),
    ] as [(Int64, Int64)])
  func refreshSchedule(lifetime: Int64, expectedIn: Int64) {
    var device = Device.active(lifetime: lifetime)
    guard case .active(let schedule) = device.core.phase else {
      Issue.record("not active")
      return
    }
    let activatedAt = Self.t0 + 5_000
    #expect(schedule.refreshAt - activatedAt == expectedIn)
    // Ten refreshes in a row: always at least the floor apart.
    var last = activatedAt
    for _ in 0..<10 {
      device.tickAtWake()
      guard device.sent == .refresh else {
        if device.sent == .report { device.feed(.completed(.report, .accepted)) }
        continue
      }
      #expect(device.now - last >= device.settings.refreshFloorMs)
      last = device.now
      device.feed(.completed(.refresh, .tokens(lifetimeMs: lifetime)))
    }
  }

  @Test func aShortLifetimeIsNotedOnce() {
    var device = Device.active(lifetime: 1_000)
    var notes = 0
    for _ in 0..<20 {
      device.tickAtWake()
      if device.sent == .refresh {
        let effects = device.feed(.completed(.refresh, .tokens(lifetimeMs: 1_000)))
        notes +=
          effects.filter { if case .note(.lifetimeRaised) = $0 { return true } else { return false } }
          .count
      } else if device.sent == .report {
        device.feed(.completed(.report, .accepted))
      }
    }
    #expect(notes == 0, "noted at activation, not again at each refresh")
  }

  /// Only `invalid_grant` on refresh destroys the session.
  @Test(arguments: [
    StepOutcome.clientRefused, .slowDown, .unavailable(.network),
    .unavailable(.server(status: 500, retryAfterMs: nil)),
    .unavailable(.tooManyRequests(retryAfterMs: 5_000)), .tokenRejected, .denied, .expired, .pending,
    .accepted,
    .notAttempted, .issued(SessionCoreTests.grant),
  ])
  func onlyInvalidGrantDestroysTheSession(outcome: StepOutcome) {
    var device = Device.active(lifetime: 300_000)
    device.tickAtWake()
    #expect(device.sent == .refresh)
    device.feed(.completed(.refresh, outcome))
    #expect(!device.effects.contains(.destroySession))
    #expect(device.wake != nil)
    #expect(device.wake! > device.now, "no immediate retry of a failed refresh")
  }

  @Test func invalidGrantDestroysFirstThenSpreads() {
    var device = Device.active(lifetime: 300_000)
    device.tickAtWake()
    device.feed(.completed(.refresh, .sessionEnded))
    #expect(device.effects.first == .destroySession)
    guard case .reauthWait(let until) = device.core.phase else {
      Issue.record("not waiting out the spread")
      return
    }
    #expect(until >= device.now && until < device.now + 600_000)
    device.tickAtWake()
    #expect(device.effects.contains(.newSessionKey))
    #expect(device.sent == .deviceAuthorization)
    #expect(device.core.published.name == "reauth_pending")
  }

  /// `invalid_client` keeps the tokens and retries slowly, visibly.
  @Test func aRefusedIdentityKeepsTheSessionAndRetriesSlowly() {
    var device = Device.active(lifetime: 300_000)
    device.tickAtWake()
    device.feed(.completed(.refresh, .clientRefused))
    #expect(!device.effects.contains(.destroySession))
    #expect(device.core.published.name == "identity_refused")
    #expect(device.core.published.retryAt != nil)
    let first = device.wake! - device.now
    #expect(first >= 150_000 && first <= 300_000)
    device.tickAtWake()
    #expect(device.sent == .refresh, "the retry refreshes with the kept tokens")
    device.feed(.completed(.refresh, .clientRefused))
    let second = device.wake! - device.now
    #expect(second >= 300_000, "the wait doubles")
    device.tickAtWake()
    device.feed(.completed(.refresh, .tokens(lifetimeMs: 300_000)))
    #expect(device.core.published.name == "active")
    // SIGHUP retries at once.
    device.tickAtWake()
    device.feed(.completed(.refresh, .clientRefused))
    device.feed(.reloaded(.session(accessExpiresAt: device.now + 100_000)))
    #expect(device.sent == .refresh)
  }

  @Test func aRefusedIdentityWhilePairingIsVisibleAndRetried() {
    var device = Device()
    device.feed(.start(.identityOnly, seed: 1))
    device.feed(.completed(.deviceAuthorization, .clientRefused))
    #expect(device.core.published.name == "identity_refused")
    #expect(device.wake != nil)
    device.tickAtWake()
    #expect(device.sent == .deviceAuthorization)
  }

  /// `invalid_token` on the API: one refresh per report attempt; a fresh
  /// token refused again makes the report back off.
  @Test func aReportGetsOneRefreshThenBacksOff() {
    var settings = Self.settings()
    settings.reportIntervalMs = 600_000
    var device = Device.active(lifetime: 3_600_000, settings: settings)
    device.now += 120_000  // past the refresh floor
    device.feed(.trigger)
    #expect(device.sent == .report)
    device.feed(.completed(.report, .tokenRejected))
    #expect(device.sent == .refresh)
    device.feed(.completed(.refresh, .tokens(lifetimeMs: 3_600_000)))
    #expect(device.sent == .report, "the report is retried with the fresh token")
    device.feed(.completed(.report, .tokenRejected))
    #expect(device.sent == nil, "no second refresh for the same attempt")
    #expect(device.wake! > device.now)
    // Nothing is sent until the report's backoff is over.
    let retryAt = device.wake!
    device.now = retryAt - 1
    device.feed(.tick)
    #expect(device.sent == nil)
  }

  @Test func aReportRefusedRightAfterARefreshWaitsForTheFloor() {
    var device = Device.active(lifetime: 3_600_000)
    device.feed(.trigger)
    #expect(device.sent == nil, "a trigger right after a report waits out the cooldown")
    device.tickAtWake()
    #expect(device.now == Self.t0 + 5_000 + device.settings.triggerCooldownMs)
    #expect(device.sent == .report)
    device.feed(.completed(.report, .tokenRejected))
    #expect(device.sent == nil, "the activation was 10 s ago: the refresh floor holds")
    #expect(device.wake == Self.t0 + 5_000 + device.settings.refreshFloorMs)
  }

  @Test func slowDownAtDeviceAuthorizationAndAtRefreshWaitsIntervalPlusFive() {
    for seed in 0..<20 as Range<UInt64> {
      var device = Device()
      device.feed(.start(.identityOnly, seed: seed))
      device.feed(.completed(.deviceAuthorization, .slowDown))
      #expect(device.wake! - device.now >= 10_000)
      device.tickAtWake()
      #expect(device.sent == .deviceAuthorization)
    }
    var device = Device.active(lifetime: 300_000)
    device.tickAtWake()
    device.feed(.completed(.refresh, .slowDown))
    #expect(device.wake! - device.now >= 10_000)
    #expect(device.core.published.name == "backoff")
    device.tickAtWake()
    #expect(device.sent == .refresh)
  }

  @Test func slowDownWhilePollingAddsFiveSecondsForGood() {
    var device = Device()
    device.feed(.start(.identityOnly, seed: 1))
    device.feed(.completed(.deviceAuthorization, .issued(Self.grant)))
    device.tickAtWake()
    device.feed(.completed(.tokenPoll, .slowDown))
    #expect(device.wake! - device.now == 10_000)
    device.tickAtWake()
    device.feed(.completed(.tokenPoll, .pending))
    #expect(device.wake! - device.now == 10_000)
  }

  /// `Retry-After` is a floor with jitter on top.
  @Test func retryAfterIsAFloorWithJitter() {
    var delays = Set<Int64>()
    for seed in 0..<40 as Range<UInt64> {
      var device = Device()
      device.feed(.start(.identityOnly, seed: seed))
      device.feed(.completed(.deviceAuthorization, .unavailable(.tooManyRequests(retryAfterMs: 3_000))))
      let delay = device.wake! - device.now
      #expect(delay >= 3_000 && delay <= 4_000)
      delays.insert(delay)
    }
    #expect(delays.count > 30)
  }

  /// A `Retry-After` holds every step, not only the one it answered (found
  /// by the swarm: a report re-discovered the server 0 ms after a 503 with
  /// `Retry-After: 42` on the refresh's discovery).
  @Test func retryAfterHoldsEveryStep() {
    var device = Device.active(lifetime: 300_000)
    device.tickAtWake()
    #expect(device.sent == .refresh)
    device.feed(.completed(.refresh, .unavailable(.server(status: 503, retryAfterMs: 42_000))))
    let hold = device.now + 42_000
    device.now += 15_000
    device.feed(.trigger)
    #expect(device.sent == nil, "no report while the cloud asked to stay away")
    #expect(device.wake! >= hold)
    device.tickAtWake()
    #expect(device.now >= hold)
    // The token expired meanwhile: the report now waits for the refresh.
    #expect(device.core.report.waitingForRefresh)
  }

  /// The pairing button on an active camera checks the session with one
  /// refresh (after the floor), never with a report; while pairing or in the
  /// re-authentication wait it gets a fresh code, like SIGUSR1.
  @Test func thePairingButtonChecksTheSessionAtTheTokenEndpoint() {
    var device = Device.active(lifetime: 3_600_000)
    device.now += 20_000
    device.feed(.pair)
    #expect(device.sent == nil, "within the refresh floor: no refresh yet")
    #expect(device.wake == Self.t0 + 5_000 + device.settings.refreshFloorMs)
    device.tickAtWake()
    #expect(device.sent == .refresh, "the button's check, not a report")
    // After a mass logout: the one refresh learns it.
    device.feed(.completed(.refresh, .sessionEnded))
    #expect(device.effects.contains(.destroySession))
    guard case .reauthWait = device.core.phase else {
      Issue.record("not waiting to re-authenticate: \(device.core.phase)")
      return
    }
    // Pressed again: the owner is there, a code now despite the spread.
    device.feed(.pair)
    #expect(device.sent == .deviceAuthorization)
    device.feed(.completed(.deviceAuthorization, .issued(Self.grant)))
    device.now += 30_000
    device.feed(.pair)
    #expect(device.sent == .deviceAuthorization, "a fresh code while pairing")
    // A refresh in backoff keeps its backoff.
    var backingOff = Device.active(lifetime: 3_600_000)
    backingOff.now += 120_000
    backingOff.feed(.pair)
    #expect(backingOff.sent == .refresh)
    backingOff.feed(.completed(.refresh, .unavailable(.network)))
    let retryAt = backingOff.wake!
    backingOff.feed(.pair)
    #expect(backingOff.sent == nil && backingOff.wake == retryAt)
  }

  /// An unattended device waits longer before each new code; a person
  /// at the camera gets one within seconds.
  @Test func anUnattendedDeviceSlowsDownAndATriggerPairsAtOnce() {
    var device = Device()
    device.feed(.start(.identityOnly, seed: 1))
    var waits: [Int64] = []
    for _ in 0..<12 {
      #expect(device.sent == .deviceAuthorization)
      device.feed(.completed(.deviceAuthorization, .issued(Self.grant)))
      while device.sent != .deviceAuthorization {
        device.tickAtWake()
        if device.sent == .tokenPoll { device.feed(.completed(.tokenPoll, .pending)) }
        if device.sent == nil, device.core.published.userCode == nil,
          case .pairing(let pairing) = device.core.phase
        {
          waits.append(pairing.nextCodeAt - device.now)
          device.tickAtWake()
        }
      }
    }
    #expect(waits.count >= 10)
    #expect(waits[1] > waits[0] && waits[3] > waits[2])
    #expect(waits.allSatisfy { $0 <= device.settings.unattendedCapMs })
    #expect(waits.last! >= device.settings.unattendedCapMs / 2)
    device.feed(.completed(.deviceAuthorization, .issued(Self.grant)))
    device.feed(.trigger)
    #expect(device.sent == .deviceAuthorization || device.wake! - device.now <= 10_000)
  }

  @Test func stopEndsEverything() {
    var device = Device.active(lifetime: 300_000)
    device.feed(.stop)
    #expect(device.core.phase == .stopped)
    #expect(device.wake == nil)
    device.feed(.tick)
    #expect(device.sent == nil)
  }
}
