/// Seconds-since-epoch as the cloud sees them, for proof `iat` and
/// assertion `iat`/`exp`.
///
/// Cameras often boot at 1970 and reach NTP late or never, and the cloud
/// rejects timestamps more than its skew (60 s at the reference cloud) away
/// from its own time. So every response's `Date` header (RFC 9110 §6.6.1,
/// which the server is required to send) is offered here, and an offset is
/// learned when the local clock is plainly wrong:
///
/// - it reads before `buildFloor` (the firmware cannot run before it was
///   built), and no offset was learned yet; or
/// - the corrected time is more than `thresholdSeconds` away from the
///   server's, which also undoes an old offset once NTP fixes the clock.
///
/// A server `Date` before the floor is ignored: a broken or hostile value
/// cannot send the device back to 1970. The `Date` has whole-second
/// resolution, so small differences are left alone rather than chased.
public struct ClockCorrection<Clock: WallClock> {
  /// 2026-01-01T00:00:00Z, the default floor; a build passes its own date.
  public static var defaultBuildFloor: Int64 { 1_767_225_600 }
  /// Well inside the reference cloud's 60 s skew window.
  public static var defaultThresholdSeconds: Int64 { 10 }

  public var clock: Clock
  public let buildFloor: Int64
  public let thresholdSeconds: Int64
  /// Added to the local clock; 0 until a correction is learned.
  public private(set) var offsetSeconds: Int64 = 0
  /// Whether an offset was ever learned from a server `Date`.
  public private(set) var hasLearned = false

  public init(
    clock: Clock, buildFloor: Int64 = Self.defaultBuildFloor,
    thresholdSeconds: Int64 = Self.defaultThresholdSeconds
  ) {
    self.clock = clock
    self.buildFloor = buildFloor
    self.thresholdSeconds = max(thresholdSeconds, 1)
  }

  /// The local clock plus the learned offset.
  public func now() -> Int64 { clock.seconds() &+ offsetSeconds }

  /// `now()` in milliseconds: the session's timers run on this.
  public func nowMilliseconds() -> Int64 { clock.milliseconds() &+ offsetSeconds &* 1_000 }

  /// Whether the local clock alone cannot be trusted (before the build floor).
  public var localClockIsUnset: Bool { clock.seconds() < buildFloor }

  /// Offers a server time (seconds since the epoch). Returns true when the
  /// offset changed, so a request refused for its timestamps may be retried.
  @discardableResult
  public mutating func observe(serverTime: Int64) -> Bool {
    guard serverTime >= buildFloor else { return false }
    let local = clock.seconds()
    let corrected = local &+ offsetSeconds
    let needsLearning =
      (local < buildFloor && !hasLearned) || distance(serverTime, corrected) > thresholdSeconds
    guard needsLearning else { return false }
    let newOffset = serverTime &- local
    let changed = newOffset != offsetSeconds
    offsetSeconds = newOffset
    hasLearned = true
    return changed
  }

  /// Offers a response's `Date` header value; nil or an unparsable value is ignored.
  @discardableResult
  public mutating func observe(dateHeader: String?) -> Bool {
    guard let dateHeader, let serverTime = HTTPDate.parse(dateHeader) else { return false }
    return observe(serverTime: serverTime)
  }

  private func distance(_ a: Int64, _ b: Int64) -> Int64 {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    if overflow { return .max }
    return difference == .min ? .max : abs(difference)
  }
}
