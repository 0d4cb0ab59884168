import AgentCore

/// A deterministic discrete-event simulation of a fleet whose sessions the
/// cloud ends all at once, run through the real session core: every device
/// is a `SessionCore` value advanced only by `SessionCore.next`, the same
/// compiled function the board's daemon runs. The simulator is the driver:
/// it performs each effect the way `SessionDriver` does (a `.send` is
/// answered by the simulated cloud at once and fed back as `.completed`; a
/// token response and `.destroySession` are vault commits), feeds `.tick`
/// when a device's wake-up has come, and `.pair` when an owner presses
/// the camera's pairing button.
///
/// Time is integer milliseconds on a simulated clock, events come from one
/// priority queue, ties are broken by device index, and every random draw
/// comes from the seed: a run replays exactly.
///
/// The run: devices boot at random moments over `warmUpMs` before the
/// revocation and run their sessions against a healthy cloud, so at the
/// revocation their refresh and report timers are where a live fleet's are.
/// At `revokeAt` the cloud ends every session: a device learns it at its
/// next refresh (`invalid_grant`) or next report (`invalid_token`, one
/// refresh, `invalid_grant`), then re-activates with the device grant when
/// its owner approves (`FleetOwners`).
public struct FleetSimulation {
  public struct Configuration: Equatable, Sendable {
    public var devices: Int
    public var seed: UInt64
    /// What a board runs with an agent.conf that sets none of the policy keys.
    public var settings = AgentConfig().sessionSettings
    public var owners = FleetOwners()
    public var overload = FleetOverload.tooManyRequests
    /// The cloud's access token lifetime (`expires_in`).
    public var accessLifetimeMs: Int64 = 3_600_000
    /// The device code's `expires_in`.
    public var codeLifetimeSeconds = 600
    /// The polling interval the cloud hands out: the live codes it expects
    /// (the larger of those it holds and, by Little's law, its issue rate
    /// over the last minute times the code lifetime) divided by the polls a
    /// second it budgets for them (`pollShare` of the token endpoint's
    /// capacity), within 5 s and a third of the code lifetime (so every code
    /// is polled at least twice); with `adaptiveInterval` off, always RFC
    /// 8628's default, 5 s.
    public var minimumIntervalSeconds = 5
    public var maximumIntervalSeconds: Int { max(codeLifetimeSeconds / 3, minimumIntervalSeconds) }
    public var adaptiveInterval = true
    public var pollShare = 0.5
    /// The share of each endpoint's capacity a second it books for refused
    /// requests (see `FleetEndpoint`).
    public var retryShare = 0.1
    /// Capacities in answers per second: `headroom` times the fleet's
    /// steady load (see `steadyLoadPerSecond`); nil: unlimited.
    public var headroom = 3.0
    public var capacity: [Int?]
    /// false: the same cloud never refuses (the baseline for the
    /// protocol minimum); its polling interval still follows the capacities.
    public var enforceCapacity = true
    /// Devices boot over the first minutes of this, before the revocation.
    public var warmUpMs: Int64 = 3_600_000
    public var horizonMs: Int64 = 8 * 86_400_000

    public init(devices: Int, seed: UInt64) {
      precondition(devices > 0 && devices < FleetEventQueue.maximumDevices)
      self.devices = devices
      self.seed = seed
      capacity = []
      capacity = FleetEndpointName.allCases.map { defaultCapacity($0) }
    }

    /// The session's refresh period on this cloud, as the core schedules it.
    public var refreshPeriodMs: Int64 {
      let lifetime = max(accessLifetimeMs, settings.minimumLifetimeMs)
      return max(lifetime / 2, lifetime - settings.refreshMarginMs, settings.refreshFloorMs)
    }

    /// What a healthy fleet costs each endpoint, per second: one refresh per
    /// refresh period and one report per report interval (plus half its
    /// jitter) from every device. Device authorization sees only new
    /// cameras in steady state (next to nothing), but it is served by the
    /// same authorization servers as the token endpoint: it gets the token
    /// endpoint's figure.
    public func steadyLoadPerSecond(_ endpoint: FleetEndpointName) -> Double {
      let devices = Double(self.devices)
      switch endpoint {
      case .deviceAuthorization, .token:
        return devices * 1_000 / Double(refreshPeriodMs)
      case .api:
        let interval = settings.reportIntervalMs + settings.reportJitterMs / 2
        return interval > 0 ? devices * 1_000 / Double(interval) : 0
      }
    }

    public func defaultCapacity(_ endpoint: FleetEndpointName) -> Int {
      max(Int((headroom * steadyLoadPerSecond(endpoint)).rounded(.up)), 1)
    }

    /// Milliseconds from the start of the run to the revocation.
    public var revokeAt: Int64 { warmUpMs }
  }

  /// What a run saw.
  public struct Outcome: Sendable {
    public var configuration: Configuration
    /// Per endpoint, per simulated second since the start (warm-up included).
    public var endpoints: [FleetEndpoint]
    /// Re-activations per second since the start.
    public var activations: [Int32]
    /// Per device: seconds from the revocation to its re-activation (-1: none).
    public var reactivatedAfter: [Int32]
    /// Per device whose re-activation finished (its first report after it
    /// accepted): the requests it made from the revocation to that report,
    /// and the fewest any device could have made on its path (see
    /// `minimumRequests`); 0 for the others.
    public var requestsToDone: [UInt32]
    public var minimumRequests: [UInt8]
    /// Per device: every request from the revocation to the end.
    public var requestsTotal: [UInt32]
    /// Devices whose owner never comes back, and their requests per hour
    /// since the revocation.
    public var abandonedDevices = 0
    public var abandonedRequestsPerHour: [Int]
    /// Devices whose owner comes back within the horizon.
    public var returningDevices = 0
    /// Vault commits (token responses and session destructions), all
    /// devices, per day since the revocation; and in the warm-up's last 45 min.
    public var commitsPerDay: [Int]
    public var steadyCommits = 0
    public var steadyWindowMs: Int64 = 45 * 60_000
    /// Seconds from an owner's last approval to the device's re-activation.
    public var approvalToActivation: [Int32] = []
    /// Invariant violations of the core seen by the driver: a wake-up in
    /// the past after a transition, a live state with no wake-up, an
    /// outcome out of turn, more than four transitions from one input.
    public var stalls = 0
    public var stuck = 0
    public var unexpected = 0
    public var longestChain = 0
    public var events = 0
    public var codesIssued = 0
    /// Devices back in steady state (re-activated, reported, refreshed once)
    /// that left the event queue; from then on their refreshes and reports
    /// are a steady background at each endpoint (see `RunState.retire`).
    public var retired = 0
    /// Step outcomes after the revocation, for the record.
    public var reportsRejected = 0
    public var reportsAccepted = 0
    public var triggers = 0
    public var largestInterval = 0
  }

  public let configuration: Configuration

  public init(_ configuration: Configuration) { self.configuration = configuration }

  // MARK: - Per-device bookkeeping

  /// The owner's side.
  private enum OwnerState: UInt8 {
    case away = 0
    /// Pressed the pairing button: approves the next code the camera shows.
    case waitingForCode = 1
    case done = 2
  }

  /// The cloud's record of a device's current device code.
  private enum CodeState: UInt8 {
    case none = 0
    case pending = 1
    case approved = 2
    case denied = 3
  }

  private struct Flags: OptionSet {
    let rawValue: UInt8
    static let never = Flags(rawValue: 1)
    static let denyPending = Flags(rawValue: 2)
    static let learnedByReport = Flags(rawValue: 4)
    static let learned = Flags(rawValue: 8)
    static let activated = Flags(rawValue: 16)
    static let done = Flags(rawValue: 32)
    static let booted = Flags(rawValue: 64)
  }

  private static let userCode = "WDJB-MJHT"
  private static let verificationURI = "https://c.io/d"

  // MARK: - Run

  public func run() -> Outcome {
    var state = RunState(configuration)
    state.run()
    return state.outcome
  }

  private struct RunState {
    let config: Configuration
    let settings: SessionSettings
    let revokeAt: Int64
    let endAt: Int64
    var cores: [SessionCore]
    /// The queued wake-up of each device's core (-1: none queued).
    var scheduled: [Int64]
    var flags: [Flags]
    var owner: [OwnerState]
    var code: [CodeState]
    var approvedAt: [Int64]
    var codeIssuedSecond: [Int32]
    var denyReturn: [Int64]
    /// The owner's next look (-1: none); an earlier queued look is dropped.
    var ownerNext: [Int64]
    var queue: FleetEventQueue
    var codeBook: FleetCodeBook
    var outcome: Outcome
    let pollBudget: Double
    /// Codes issued in each of the last 60 seconds (the cloud's issue rate).
    var issuedRing = [Int32](repeating: 0, count: 60)
    var issuedRingSecond = 0
    var issuedLastMinute = 0
    /// Set by the cloud when a done device's refresh succeeded: the driver
    /// retires the device after this input.
    var retireNow = false
    /// Retired devices' steady load: per second, fractional, carried.
    var backgroundSecond = 0
    var backgroundToken = 0.0
    var backgroundAPI = 0.0
    var carryToken = 0.0
    var carryAPI = 0.0

    init(_ config: Configuration) {
      self.config = config
      settings = config.settings
      revokeAt = config.revokeAt
      endAt = config.revokeAt + config.horizonMs
      let n = config.devices
      let seconds = Int(endAt / 1_000) + 2
      cores = [SessionCore](repeating: SessionCore(), count: n)
      scheduled = [Int64](repeating: -1, count: n)
      flags = [Flags](repeating: [], count: n)
      owner = [OwnerState](repeating: .away, count: n)
      code = [CodeState](repeating: .none, count: n)
      approvedAt = [Int64](repeating: 0, count: n)
      codeIssuedSecond = [Int32](repeating: 0, count: n)
      denyReturn = [Int64](repeating: 0, count: n)
      ownerNext = [Int64](repeating: -1, count: n)
      codeBook = FleetCodeBook(lifetimeSeconds: config.codeLifetimeSeconds)
      let tokenCapacity = config.capacity[FleetEndpointName.token.rawValue] ?? config.defaultCapacity(.token)
      pollBudget = max(Double(tokenCapacity) * config.pollShare, 1)
      let endpoints = FleetEndpointName.allCases.map {
        FleetEndpoint(
          capacity: config.enforceCapacity ? config.capacity[$0.rawValue] : nil, seconds: seconds,
          retryShare: config.retryShare)
      }
      outcome = Outcome(
        configuration: config, endpoints: endpoints, activations: [Int32](repeating: 0, count: seconds),
        reactivatedAfter: [Int32](repeating: -1, count: n), requestsToDone: [UInt32](repeating: 0, count: n),
        minimumRequests: [UInt8](repeating: 0, count: n), requestsTotal: [UInt32](repeating: 0, count: n),
        abandonedRequestsPerHour: [Int](repeating: 0, count: Int(config.horizonMs / 3_600_000) + 1),
        commitsPerDay: [Int](repeating: 0, count: Int(config.horizonMs / 86_400_000) + 1))
      queue = FleetEventQueue(seconds: seconds)
    }

    mutating func run() {
      let seed = config.seed
      for device in 0..<config.devices {
        // A fleet that runs: booted over ten minutes (startup delay on
        // top), each device's tokens at a random point of their lifetime,
        // each first report at a random point of the report interval (the
        // core's own rule for a start with a session).
        let boot = Int64(FleetOwners.unit(seed, device, 40) * Double(min(revokeAt, 600_000)))
        queue.push(time: boot, kind: .core, device: device)
        scheduled[device] = boot
        let person = config.owners.owner(seed: seed, device: device)
        if let look = person.firstLookMs {
          if look < config.horizonMs {
            schedule(owner: device, at: revokeAt + look)
            outcome.returningDevices += 1
          }
          if let deny = person.denyReturnMs {
            flags[device].insert(.denyPending)
            denyReturn[device] = deny
          }
        } else {
          flags[device].insert(.never)
          outcome.abandonedDevices += 1
        }
      }
      while let event = queue.pop() {
        guard event.time <= endAt else { break }
        outcome.events += 1
        advanceBackground(to: Int(event.time / 1_000))
        switch event.kind {
        case .core:
          guard scheduled[event.device] == event.time else { continue }
          scheduled[event.device] = -1
          if !flags[event.device].contains(.booted) {
            flags[event.device].insert(.booted)
            let lifetime = config.accessLifetimeMs
            let expiry = event.time + Int64(FleetOwners.unit(seed, event.device, 41) * Double(lifetime))
            let coreSeed = UInt64(FleetOwners.unit(seed, event.device, 42) * 0x1p64)
            feed(event.device, .start(.session(accessExpiresAt: expiry), seed: coreSeed), at: event.time)
          } else {
            feed(event.device, .tick, at: event.time)
          }
        case .owner:
          guard ownerNext[event.device] == event.time else { continue }
          ownerNext[event.device] = -1
          ownerLooks(event.device, at: event.time)
        }
      }
    }

    // MARK: The driver

    /// What `SessionDriver.feed` does, with the simulated cloud as the
    /// transport and a counter as the vault.
    mutating func feed(_ device: Int, _ input: SessionInput, at now: Int64) {
      var next: SessionInput? = input
      var chain = 0
      var wake: Int64? = nil
      while let current = next {
        next = nil
        let transition = SessionCore.next(cores[device], current, now: now, settings: settings)
        cores[device] = transition.core
        wake = transition.wake
        chain += 1
        for effect in transition.effects {
          switch effect {
          case .send(let step):
            next = .completed(step, answer(device, step, at: now))
          case .destroySession:
            commit(at: now)
          case .newSessionKey, .publish:
            break
          case .note(let note):
            if case .unexpected = note { outcome.unexpected += 1 }
          }
        }
      }
      outcome.longestChain = max(outcome.longestChain, chain)
      if retireNow {
        retireNow = false
        return retire(device, at: now)
      }
      guard let wake else {
        switch cores[device].phase {
        case .unprovisioned, .stopped: break
        case .booting, .starting, .pairing, .active, .reauthWait, .identityRefused: outcome.stuck += 1
        }
        return
      }
      if wake <= now { outcome.stalls += 1 }
      let at = max(wake, now + 1)
      guard scheduled[device] != at else { return }
      scheduled[device] = at
      if at <= endAt { queue.push(time: at, kind: .core, device: device) }
    }

    mutating func countIssue(at second: Int) {
      if second - issuedRingSecond >= 60 {
        for slot in 0..<60 { issuedRing[slot] = 0 }
        issuedLastMinute = 0
        issuedRingSecond = second
      }
      while issuedRingSecond < second {
        issuedRingSecond += 1
        issuedLastMinute -= Int(issuedRing[issuedRingSecond % 60])
        issuedRing[issuedRingSecond % 60] = 0
      }
      issuedRing[second % 60] += 1
      issuedLastMinute += 1
    }

    /// A device that is back (re-activated, its report accepted, one
    /// refresh since) runs its steady schedule from here on: one refresh a
    /// refresh period, one report a report interval, as measured before
    /// the revocation. Simulating each of those events again would only
    /// re-measure that (and cost 24 events a device a day), so the device
    /// leaves the queue and its load is added to each second as a steady
    /// background (with its vault commits), which takes capacity first.
    mutating func retire(_ device: Int, at now: Int64) {
      scheduled[device] = -1
      outcome.retired += 1
      backgroundToken += 1_000 / Double(config.refreshPeriodMs)
      let interval = settings.reportIntervalMs + settings.reportJitterMs / 2
      if interval > 0 { backgroundAPI += 1_000 / Double(interval) }
    }

    mutating func advanceBackground(to second: Int) {
      while backgroundSecond < second {
        backgroundSecond += 1
        guard backgroundToken > 0 else { continue }
        carryToken += backgroundToken
        carryAPI += backgroundAPI
        let token = Int(carryToken)
        let api = Int(carryAPI)
        carryToken -= Double(token)
        carryAPI -= Double(api)
        outcome.endpoints[FleetEndpointName.token.rawValue].addBackground(token, second: backgroundSecond)
        outcome.endpoints[FleetEndpointName.api.rawValue].addBackground(api, second: backgroundSecond)
        let day = (Int64(backgroundSecond) * 1_000 - revokeAt) / 86_400_000
        if day >= 0 && Int(day) < outcome.commitsPerDay.count { outcome.commitsPerDay[Int(day)] += token }
      }
    }

    mutating func commit(at now: Int64) {
      if now >= revokeAt {
        outcome.commitsPerDay[Int((now - revokeAt) / 86_400_000)] += 1
      } else if now >= revokeAt - outcome.steadyWindowMs {
        outcome.steadyCommits += 1
      }
    }

    // MARK: The cloud

    mutating func answer(_ device: Int, _ step: SessionStep, at now: Int64) -> StepOutcome {
      let revoked = now >= revokeAt
      if revoked {
        outcome.requestsTotal[device] &+= 1
        if flags[device].contains(.never) {
          outcome.abandonedRequestsPerHour[Int((now - revokeAt) / 3_600_000)] += 1
        }
      }
      let valid = !revoked || flags[device].contains(.activated)
      let endpoint: FleetEndpointName
      switch step {
      case .deviceAuthorization: endpoint = .deviceAuthorization
      case .tokenPoll, .refresh: endpoint = .token
      case .report: endpoint = .api
      }
      if let retryAfter = outcome.endpoints[endpoint.rawValue].admit(at: now) {
        return refusal(step, retryAfterSeconds: retryAfter)
      }
      switch step {
      case .report:
        if valid {
          if revoked {
            outcome.reportsAccepted += 1
            if !flags[device].contains(.done) { finish(device) }
          }
          return .accepted
        }
        outcome.reportsRejected += 1
        if !flags[device].contains(.learned) { flags[device].insert([.learned, .learnedByReport]) }
        return .tokenRejected
      case .refresh:
        guard valid else {
          flags[device].insert(.learned)
          return .sessionEnded
        }
        commit(at: now)
        if flags[device].contains(.done) { retireNow = true }
        return .tokens(lifetimeMs: config.accessLifetimeMs)
      case .deviceAuthorization:
        return issueCode(device, at: now)
      case .tokenPoll:
        switch code[device] {
        case .approved where approvedAt[device] <= now:
          codeBook.remove(issuedAt: Int(codeIssuedSecond[device]), now: Int(now / 1_000))
          code[device] = .none
          flags[device].insert(.activated)
          commit(at: now)
          let second = Int(now / 1_000)
          outcome.activations[second] += 1
          outcome.reactivatedAfter[device] = Int32((now - revokeAt) / 1_000)
          outcome.approvalToActivation.append(Int32((now - approvedAt[device]) / 1_000))
          return .tokens(lifetimeMs: config.accessLifetimeMs)
        case .denied:
          codeBook.remove(issuedAt: Int(codeIssuedSecond[device]), now: Int(now / 1_000))
          code[device] = .none
          return .denied
        case .none, .pending, .approved:
          return .pending
        }
      }
    }

    mutating func refusal(_ step: SessionStep, retryAfterSeconds: Int64) -> StepOutcome {
      let ms = retryAfterSeconds * 1_000
      switch config.overload {
      case .tooManyRequests:
        return .unavailable(.tooManyRequests(retryAfterMs: ms))
      case .serviceUnavailable:
        return .unavailable(.server(status: 503, retryAfterMs: ms))
      case .slowDown:
        return step == .tokenPoll ? .slowDown : .unavailable(.tooManyRequests(retryAfterMs: ms))
      }
    }

    mutating func issueCode(_ device: Int, at now: Int64) -> StepOutcome {
      let second = Int(now / 1_000)
      if code[device] != .none {
        codeBook.remove(issuedAt: Int(codeIssuedSecond[device]), now: second)
      }
      codeBook.issue(at: second)
      countIssue(at: second)
      codeIssuedSecond[device] = Int32(second)
      outcome.codesIssued += 1
      if owner[device] == .waitingForCode {
        // The owner pressed the button and is reading the camera's code.
        owner[device] = .away
        approve(device, at: now)
      } else {
        code[device] = .pending
      }
      var interval = config.minimumIntervalSeconds
      if config.adaptiveInterval {
        let expected = max(codeBook.live, issuedLastMinute * config.codeLifetimeSeconds / 60)
        let needed = Int((Double(expected) / pollBudget).rounded(.up))
        interval = min(max(needed, config.minimumIntervalSeconds), config.maximumIntervalSeconds)
      }
      outcome.largestInterval = max(outcome.largestInterval, interval)
      return .issued(
        DeviceCodeGrant(
          userCode: FleetSimulation.userCode, verificationURI: FleetSimulation.verificationURI,
          expiresInMs: Int64(config.codeLifetimeSeconds) * 1_000, intervalMs: Int64(interval) * 1_000))
    }

    mutating func approve(_ device: Int, at now: Int64) {
      code[device] = .approved
      approvedAt[device] =
        now + config.owners.typing(seed: config.seed, device: device, Int(now / 60_000) & 0xFF)
      schedule(owner: device, at: approvedAt[device] + config.owners.patienceMs)
    }

    /// The first accepted report after re-activation: the device is back.
    mutating func finish(_ device: Int) {
      flags[device].insert(.done)
      outcome.requestsToDone[device] = outcome.requestsTotal[device]
      // Learn (a refresh, or a report and its refresh), one code, the poll
      // that gets the tokens, this report.
      outcome.minimumRequests[device] = flags[device].contains(.learnedByReport) ? 5 : 4
    }

    // MARK: The owners

    mutating func schedule(owner device: Int, at time: Int64) {
      guard time <= endAt, ownerNext[device] != time else { return }
      ownerNext[device] = time
      queue.push(time: time, kind: .owner, device: device)
    }

    /// The owner looks at the camera (or its app). A code on show that
    /// nobody answered yet is approved (or, by a wary owner the first time,
    /// denied); a code already answered is waited for; with no code on
    /// show the owner presses the pairing button and approves the code it
    /// brings. Then the owner looks again after a while, until the camera
    /// is back.
    mutating func ownerLooks(_ device: Int, at now: Int64) {
      guard !flags[device].contains(.activated) else {
        owner[device] = .done
        return
      }
      if case .pairing(let pairing) = cores[device].phase, let shown = pairing.code, now < shown.expiresAt {
        switch code[device] {
        case .pending:
          if flags[device].contains(.denyPending) {
            flags[device].remove(.denyPending)
            code[device] = .denied
            schedule(owner: device, at: now + denyReturn[device])
          } else {
            approve(device, at: now)
          }
        case .approved, .denied, .none:
          schedule(owner: device, at: now + config.owners.patienceMs)
        }
        return
      }
      // Whoever presses the button expects the request: no denial.
      flags[device].remove(.denyPending)
      owner[device] = .waitingForCode
      outcome.triggers += 1
      feed(device, .pair, at: now)
      schedule(owner: device, at: now + config.owners.patienceMs)
    }
  }
}
