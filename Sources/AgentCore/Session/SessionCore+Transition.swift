/// One transition in progress: a working copy of the core, the effects
/// collected so far, and the time and settings it runs at. Only
/// `SessionCore.next` makes one, so from outside the function stays pure.
struct Transition {
  var core: SessionCore
  var effects: [SessionEffect] = []
  let now: Int64
  let settings: SessionSettings

  init(core: SessionCore, now: Int64, settings: SessionSettings) {
    self.core = core
    self.now = now
    self.settings = settings
  }

  mutating func handle(_ input: SessionInput) {
    switch input {
    case .start(let vault, let seed): start(vault, seed: seed)
    case .tick: service()
    case .completed(let step, let outcome): completed(step, outcome)
    case .trigger: trigger()
    case .pair: pair()
    case .reloaded(let vault): reloaded(vault)
    case .stop: stop()
    }
    // Whatever input came, anything that is due now is started now: a
    // wake-up that has passed never stays pending (the simulator checks it).
    service()
  }

  mutating func note(_ note: SessionNote) { effects.append(.note(note)) }

  mutating func send(_ step: SessionStep) {
    core.inFlight = step
    effects.append(.send(step))
  }

  // MARK: - Start, stop, reload

  /// A start always starts afresh (also a second one: the driver restarted).
  mutating func start(_ vault: VaultView, seed: UInt64) {
    core = SessionCore()
    core.random = CoreRandom(seed: seed)
    let delay = core.random.upTo(settings.startupDelayMs)
    guard delay > 0 else { return begin(vault) }
    core.phase = .starting(until: now + delay, vault: vault)
    note(.startingIn(delay))
  }

  /// The vault's contents decide where the session begins.
  mutating func begin(_ vault: VaultView) {
    switch vault {
    case .empty:
      core.phase = .unprovisioned
      note(.notProvisioned)
    case .identityOnly:
      startPairing(reactivation: false)
    case .session(let expiry):
      let refreshAt = expiry.map { max(now, $0 - settings.refreshMarginMs) } ?? now
      core.phase = .active(TokenSchedule(accessExpiresAt: expiry, refreshAt: refreshAt))
      // A restart with a session still reports periodically: the first
      // report at a random point of one interval, so a fleet that booted
      // together does not report together, and a camera that reboots more
      // often than the interval still reports.
      core.report = ReportSchedule(
        dueAt: settings.reportIntervalMs > 0 ? now + core.random.upTo(settings.reportIntervalMs) : nil)
      service()
    }
  }

  mutating func startPairing(reactivation: Bool) {
    core.phase = .pairing(Pairing(reactivation: reactivation, nextCodeAt: now))
    core.report = ReportSchedule()
    effects.append(.newSessionKey)
    service()
  }

  mutating func stop() {
    core.phase = .stopped
    core.inFlight = nil
    note(.stopping)
  }

  mutating func reloaded(_ vault: VaultView) {
    switch core.phase {
    case .booting, .stopped:
      return
    case .starting(let until, _):
      core.phase = .starting(until: until, vault: vault)
    case .unprovisioned:
      begin(vault)
    case .identityRefused(var refusal):
      // An operator fixed the registration and said so: try now.
      refusal.retryAt = now
      core.refusals = 0
      core.phase = .identityRefused(refusal)
      service()
    case .pairing, .active, .reauthWait:
      if vault == .empty {
        core.phase = .unprovisioned
        core.inFlight = nil
        note(.notProvisioned)
      }
    }
  }

  // MARK: - Local trigger

  mutating func trigger() {
    guard core.inFlight == nil else { return note(.triggerIgnored) }
    switch core.phase {
    case .active:
      let earliest = core.report.lastAttemptAt.map { $0 + settings.triggerCooldownMs } ?? now
      let at = max(now, earliest)
      core.report.dueAt = min(core.report.dueAt ?? at, at)
      service()
    case .pairing(var pairing):
      // A person is at the camera: a fresh code within seconds, and the
      // unattended slowdown is over.
      core.unattended = 0
      pairing.code = nil
      pairing.retry = nil
      let earliest = core.lastCodeRequestAt.map { $0 + settings.triggerCooldownMs } ?? now
      pairing.nextCodeAt = max(now, earliest)
      core.phase = .pairing(pairing)
      service()
    case .reauthWait:
      // The spread window protects the cloud from a fleet, not from one
      // owner pressing a button.
      startPairing(reactivation: true)
    case .booting, .starting, .unprovisioned, .identityRefused, .stopped:
      note(.triggerIgnored)
    }
  }

  /// The pairing button: like the trigger, except on an active camera (see
  /// `SessionInput.pair`).
  mutating func pair() {
    guard core.inFlight == nil else { return note(.triggerIgnored) }
    switch core.phase {
    case .active(var schedule):
      // A refresh already waiting out a backoff keeps it: the button must
      // not undo storm control.
      guard schedule.retry == nil else { return note(.triggerIgnored) }
      schedule.refreshAt = min(schedule.refreshAt, refreshFloor())
      core.phase = .active(schedule)
      service()
    case .booting, .starting, .unprovisioned, .pairing, .reauthWait, .identityRefused, .stopped:
      trigger()
    }
  }

  // MARK: - Timers

  /// Starts whatever is due at `now`. Every wake-up that has come leads to
  /// an action here (a send, or a new later wake-up), so the driver never spins.
  mutating func service() {
    guard core.inFlight == nil else { return }
    if let quiet = core.quietUntil {
      guard now >= quiet else { return }
      core.quietUntil = nil
    }
    switch core.phase {
    case .booting, .unprovisioned, .stopped:
      return
    case .starting(let until, let vault):
      if now >= until { begin(vault) }
    case .pairing(var pairing):
      if let retry = pairing.retry {
        if now >= retry.at { sendPairingStep(pairing) }
      } else if let code = pairing.code {
        if now >= code.expiresAt {
          lapse(&pairing, denied: false)
          core.phase = .pairing(pairing)
        } else if now >= code.nextPollAt {
          send(.tokenPoll)
        }
      } else if now >= pairing.nextCodeAt {
        sendPairingStep(pairing)
      }
    case .active(var schedule):
      if (schedule.retry?.at ?? schedule.refreshAt) <= now { return send(.refresh) }
      guard let due = core.report.dueAt, due <= now, !core.report.waitingForRefresh else { return }
      if let expiry = schedule.accessExpiresAt, now + 1_000 < expiry {
        core.report.lastAttemptAt = now
        return send(.report)
      }
      // The token has expired (or is unknown): the report waits for a
      // refresh, which still keeps its floor.
      core.report.waitingForRefresh = true
      if schedule.retry == nil { schedule.refreshAt = min(schedule.refreshAt, refreshFloor()) }
      core.phase = .active(schedule)
      note(.reportWaitsForRefresh(inMs: max(0, (schedule.retry?.at ?? schedule.refreshAt) - now)))
      if (schedule.retry?.at ?? schedule.refreshAt) <= now { send(.refresh) }
    case .reauthWait(let until):
      if now >= until { startPairing(reactivation: true) }
    case .identityRefused(let refusal):
      guard now >= refusal.retryAt else { return }
      if var schedule = refusal.schedule {
        schedule.refreshAt = now
        schedule.retry = nil
        core.phase = .active(schedule)
        send(.refresh)
      } else {
        core.phase = .pairing(Pairing(reactivation: refusal.reactivation, nextCodeAt: now))
        service()
      }
    }
  }

  /// The device-grant step that is due: a code request, or a poll of the code.
  mutating func sendPairingStep(_ pairing: Pairing) {
    if pairing.code == nil {
      core.lastCodeRequestAt = now
      send(.deviceAuthorization)
    } else {
      send(.tokenPoll)
    }
  }

  /// The earliest moment the floor allows the next refresh.
  func refreshFloor() -> Int64 {
    guard let last = core.lastRefreshAt else { return now }
    return max(now, last + settings.refreshFloorMs)
  }
}
