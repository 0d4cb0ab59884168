/// The agent's notion of now (SPEC "Clock"), for proof and assertion `iat`,
/// token expiry, the vault's times and certificate checks.
///
/// Cameras boot at 1970 and reach NTP late or never, and the cloud refuses
/// timestamps more than its skew (60 s at the reference cloud) away from its
/// own time. The rules:
///
/// - Never earlier than the time floor (`TimeFloor`: the build time and the
///   latest confirmed time from the vault).
/// - A system clock at or past the floor is synced, and used as it is: no
///   server overrides it (a `Date` of year 9999 or 1980 changes nothing).
/// - A system clock before the floor is unsynced: certificates are judged
///   at the agent's time (the floor, until a server time is learned), and a
///   verified server's `Date` sets the time, bounded: not before the floor
///   or the certificate's notBefore, not after its notAfter (its holder
///   cannot vouch for a time at which the certificate is expired), and not
///   more than `maximumAdvanceSeconds` past the floor. The learned time runs
///   on the monotonic clock, so a later step of the wall clock cannot drag
///   it along; once the wall clock reaches the floor it is dropped.
/// - `Date` has whole-second resolution: a learned time within
///   `thresholdSeconds` of a later `Date` is left alone, not chased.
///
/// Each decision an operator should know of is queued once as a
/// `ClockNotice` for the caller's log (`takeNotices()`).
public struct ClockCorrection<Clock: WallClock> {
  /// Well inside the reference cloud's 60 s skew window.
  public static var defaultThresholdSeconds: Int64 { 10 }
  /// Ten years: longer than a camera plausibly sits unpowered between its
  /// build (or its last confirmed time) and a boot without NTP.
  public static var defaultMaximumAdvanceSeconds: Int64 { 3_652 * 86_400 }
  /// Two clocks this close agree (the board's clock and a server's `Date`).
  public static var agreementSeconds: Int64 { 300 }

  public var clock: Clock
  public private(set) var floor: TimeFloor
  public let thresholdSeconds: Int64
  public let maximumAdvanceSeconds: Int64
  /// A server time (ms) learned while unsynced, and the monotonic reading then.
  private var learned: (server: Int64, monotonic: Int64)? = nil
  private var notices: [ClockNotice] = []
  private var refusalNoticed = false
  /// The side (+1 ahead, -1 behind) of the last disagreement logged.
  private var disagreementNoticed: Int64 = 0
  /// The monotonic reading when this clock was made: before any server time
  /// is learned, an unsynced agent's time runs on from the floor by it.
  private let startMonotonic: Int64

  public init(
    clock: Clock, floor: TimeFloor = TimeFloor(buildTime: AgentVersion.buildFloor, stored: nil),
    thresholdSeconds: Int64 = Self.defaultThresholdSeconds,
    maximumAdvanceSeconds: Int64 = Self.defaultMaximumAdvanceSeconds
  ) {
    self.clock = clock
    self.floor = floor
    self.startMonotonic = clock.monotonicMilliseconds()
    self.thresholdSeconds = max(thresholdSeconds, 1)
    self.maximumAdvanceSeconds = max(maximumAdvanceSeconds, 0)
    if !systemClockIsSynced { notices.append(.unsynced(system: clock.seconds(), floor: self.floor.seconds)) }
  }

  /// Whether the system clock is at or past the floor (and so is believed).
  public var systemClockIsSynced: Bool { clock.milliseconds() >= floor.seconds &* 1_000 }

  /// Whether a server time is in use for an unsynced system clock.
  public var hasLearned: Bool { learned != nil && !systemClockIsSynced }

  /// The agent's time in milliseconds since the epoch: the session's timers run on this.
  public func nowMilliseconds() -> Int64 {
    let system = clock.milliseconds()
    let floorMilliseconds = floor.seconds &* 1_000
    if system >= floorMilliseconds { return system }
    // Unsynced and nothing learned yet: the floor, running on with the
    // monotonic clock. A frozen time would never reach a timer's wake-up
    // (the start-up delay of a board that boots at 1970 waited forever).
    guard let learned else {
      return floorMilliseconds &+ max(0, clock.monotonicMilliseconds() &- startMonotonic)
    }
    return max(floorMilliseconds, learned.server &+ (clock.monotonicMilliseconds() &- learned.monotonic))
  }

  /// `nowMilliseconds()` in whole seconds.
  public func now() -> Int64 { nowMilliseconds() / 1_000 }

  /// The time the next server certificate is judged at: exactly the system
  /// clock when synced; otherwise the agent's time, which is only a lower
  /// bound of the truth, so a certificate can be found expired but not
  /// "not yet valid".
  public var certificateCheckTime: CertificateCheckTime {
    CertificateCheckTime(seconds: now(), isExact: systemClockIsSynced)
  }

  /// The decisions queued since the last call, in order; each is logged once.
  public mutating func takeNotices() -> [ClockNotice] {
    defer { notices.removeAll() }
    return notices
  }

  /// Offers a response's `Date` header with the verified server chain's
  /// validity (nil over plain HTTP). Returns true when the agent's time
  /// changed, so a request refused for its timestamps may be retried.
  @discardableResult
  public mutating func observe(dateHeader: String?, validity: PeerValidity?) -> Bool {
    guard let dateHeader, let serverTime = HTTPDate.parse(dateHeader) else { return false }
    return observe(serverTime: serverTime, validity: validity)
  }

  /// Offers a server time (seconds since the epoch); see `observe(dateHeader:validity:)`.
  @discardableResult
  public mutating func observe(serverTime: Int64, validity: PeerValidity?) -> Bool {
    let system = clock.seconds()
    if systemClockIsSynced {
      if learned != nil {
        learned = nil
        notices.append(.systemClockSet(system: system))
      }
      guard validity != nil else { return false }
      let side: Int64 = serverTime > system ? 1 : -1
      if distance(serverTime, system) > Self.agreementSeconds, disagreementNoticed != side {
        disagreementNoticed = side
        notices.append(.keptSyncedClock(system: system, server: serverTime))
      }
      // Confirmed by both: the earlier of the two.
      floor.raise(to: min(serverTime, system))
      return false
    }
    guard let validity else { return refuse(serverTime, .unverifiedServer) }
    let floorSeconds = floor.seconds
    if let witnessed = floor.witnessed, witnessed > floor.buildTime, system >= floor.buildTime,
      serverTime < floorSeconds &- Self.agreementSeconds,
      distance(serverTime, system) <= Self.agreementSeconds
    {
      // The certificate verified at the floor, and two independent clocks
      // agree it is earlier: the floor is what is wrong.
      notices.append(.floorFromTheFuture(floor: witnessed, server: serverTime, system: system))
      floor.discardWitness(replacingWith: min(serverTime, system))
      learned = nil
      return true
    }
    if serverTime < floorSeconds {
      // Within the agreement window this is only the floor's own rounding.
      if floorSeconds &- serverTime <= Self.agreementSeconds { return false }
      return refuse(serverTime, .beforeFloor(floor: floorSeconds))
    }
    if serverTime < validity.notBefore {
      return refuse(serverTime, .beforeCertificate(notBefore: validity.notBefore))
    }
    if serverTime > validity.notAfter {
      return refuse(serverTime, .afterCertificate(notAfter: validity.notAfter))
    }
    let limit = floorSeconds &+ maximumAdvanceSeconds
    if serverTime > limit { return refuse(serverTime, .implausible(limit: limit)) }
    let current = now()
    if learned != nil, distance(serverTime, current) <= thresholdSeconds {
      floor.raise(to: min(serverTime, current))
      return false
    }
    learned = (serverTime &* 1_000, clock.monotonicMilliseconds())
    notices.append(.corrected(from: current, to: serverTime, system: system))
    floor.raise(to: serverTime)
    return true
  }

  private mutating func refuse(_ serverTime: Int64, _ reason: ClockRefusal) -> Bool {
    if !refusalNoticed {
      refusalNoticed = true
      notices.append(.refused(server: serverTime, reason: reason))
    }
    return false
  }

  private func distance(_ a: Int64, _ b: Int64) -> Int64 {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    if overflow { return .max }
    return difference == .min ? .max : abs(difference)
  }
}
