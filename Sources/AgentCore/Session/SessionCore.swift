/// The session core: all of the device's cloud behaviour (session, report
/// schedule and its backoff, refused identity, device-grant bookkeeping,
/// storm control) as one state value and one pure transition function,
///
///     SessionCore.next(core, input, now:, settings:) → (core, effects, wake)
///
/// The same compiled code runs on a board (driven by `SessionDriver` and the
/// daemon's poll loop), in the unit tests, in the swarm simulator (one device
/// against every answer a server can give) and in the fleet simulator
/// (2.4 million devices against a capacity-limited cloud).
///
/// Rules it keeps, each checked by the simulator after every step:
/// - at most one step is in flight, and the core never asks for a step from
///   inside the handling of another: effects are values the driver runs;
/// - every state but `unprovisioned` and `stopped` has a next wake-up
///   (those two wait for SIGHUP, documented in the README), and a wake-up
///   that has come always leads to an action, so nothing spins;
/// - only `invalid_grant` on refresh destroys the session;
/// - refreshes are at least `refreshFloorMs` apart, whatever `expires_in` says.
public struct SessionCore: Equatable, Sendable {
  public var phase: SessionPhase = .booting
  public var report = ReportSchedule()
  /// The step whose outcome the core waits for.
  public var inFlight: SessionStep? = nil
  /// The last successful refresh or activation (the refresh floor).
  public var lastRefreshAt: Int64? = nil
  /// Device codes in a row that lapsed or were denied with nobody approving.
  public var unattended = 0
  /// Identity refusals in a row.
  public var refusals = 0
  /// The last device-authorization request (the trigger cooldown).
  public var lastCodeRequestAt: Int64? = nil
  /// A `Retry-After` the cloud sent holds every step until then, not only
  /// the one it answered: the server asked this device to stay away.
  public var quietUntil: Int64? = nil
  /// The short-lifetime note is logged once per run, not once per refresh.
  public var lifetimeRaisedNoted = false
  public var random = CoreRandom(seed: 0)

  public init() {}

  /// The transition function. Pure: the same arguments give the same result.
  public static func next(
    _ core: SessionCore, _ input: SessionInput, now: Int64, settings: SessionSettings
  ) -> SessionTransition {
    var transition = Transition(core: core, now: now, settings: settings)
    transition.handle(input)
    let after = transition.core
    var effects = transition.effects
    if after.published != core.published {
      // The state file changes before the next request goes out.
      let at = effects.firstIndex { if case .send = $0 { return true } else { return false } }
      effects.insert(.publish, at: at ?? effects.count)
    }
    return SessionTransition(core: after, effects: effects, wake: after.wake)
  }

  /// When the driver must feed the next `.tick`; nil while a step is in
  /// flight (its outcome comes next) and in the two phases that wait for an
  /// operator (`unprovisioned`, `stopped`).
  public var wake: Int64? {
    guard let wake = nominalWake else { return nil }
    if let quietUntil, wake < quietUntil { return quietUntil }
    return wake
  }

  private var nominalWake: Int64? {
    if inFlight != nil { return nil }
    switch phase {
    case .booting, .unprovisioned, .stopped:
      return nil
    case .starting(let until, _):
      return until
    case .pairing(let pairing):
      if let retry = pairing.retry { return retry.at }
      if let code = pairing.code { return min(code.nextPollAt, code.expiresAt) }
      return pairing.nextCodeAt
    case .active(let schedule):
      var wake = schedule.retry?.at ?? schedule.refreshAt
      if let due = report.dueAt, !report.waitingForRefresh { wake = min(wake, due) }
      return wake
    case .reauthWait(let until):
      return until
    case .identityRefused(let refusal):
      return refusal.retryAt
    }
  }

  /// What the local state interface shows (state file, hook, `status`).
  public var published: PublishedState {
    switch phase {
    case .booting, .starting:
      return PublishedState(name: "starting")
    case .unprovisioned:
      return PublishedState(name: "unprovisioned")
    case .pairing(let pairing):
      let name =
        pairing.retry != nil ? "backoff" : pairing.reactivation ? "reauth_pending" : "activation_pending"
      var state = PublishedState(name: name)
      if let code = pairing.code {
        state.userCode = code.userCode
        state.verificationURI = code.verificationURI
        state.codeExpiresAt = code.expiresAt
      }
      return state
    case .active(let schedule):
      if schedule.retry != nil { return PublishedState(name: "backoff") }
      return PublishedState(name: inFlight == .refresh ? "refreshing" : "active")
    case .reauthWait:
      return PublishedState(name: "reauth_required")
    case .identityRefused(let refusal):
      var state = PublishedState(name: "identity_refused")
      state.retryAt = refusal.retryAt
      return state
    case .stopped:
      return PublishedState(name: "stopped")
    }
  }
}

/// The result of one transition.
public struct SessionTransition: Equatable, Sendable {
  public var core: SessionCore
  /// To be run in order; at most one `.send`, always last.
  public var effects: [SessionEffect]
  public var wake: Int64?
}

/// The local state interface's view of the core: the state name, the code
/// while the owner is asked to approve one, and when a refused identity is
/// tried again. Deliberately without poll times, so the state file and the
/// hook change when something a person cares about changes, not every poll.
public struct PublishedState: Equatable, Sendable {
  public var name: String
  public var userCode: String? = nil
  public var verificationURI: String? = nil
  public var codeExpiresAt: Int64? = nil
  public var retryAt: Int64? = nil

  public init(name: String) { self.name = name }

  /// Field by field, names and codes byte for byte (Word): the derived `==`
  /// compares Strings by Unicode equivalence, which links the normalization
  /// tables into the device binary (issue 14).
  public static func == (lhs: PublishedState, rhs: PublishedState) -> Bool {
    Word(lhs.name) == Word(rhs.name) && Word.same(lhs.userCode, rhs.userCode)
      && Word.same(lhs.verificationURI, rhs.verificationURI) && lhs.codeExpiresAt == rhs.codeExpiresAt
      && lhs.retryAt == rhs.retryAt
  }
}
