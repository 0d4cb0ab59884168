/// Storm control: when a device retries, and when it must not.
///
/// A fleet can be revoked, or its server can fail, all at once. If every
/// camera reacted at the same instant, or retried on a fixed schedule, the
/// server would see the whole fleet in the same second, again and again. This
/// policy holds the numbers; the session core turns "what just happened"
/// into "how long to wait" with them (`Delays`, `SessionCore+Outcomes`),
/// with its own seeded randomness, so that a board, a unit test and a fleet
/// simulation of millions of devices run the same code.
///
/// All durations are integer milliseconds: no floating point on the board, and
/// a simulation can replay them exactly.
public struct StormPolicy: Equatable, Sendable {
  /// Forced re-authentication starts at a uniform random moment in
  /// `0..<reauthSpreadMilliseconds` after the revocation is noticed, so a fleet
  /// revoked in one second reaches the server as a flat `devices / spread`
  /// rate instead of one spike.
  public var reauthSpreadMilliseconds: Int64
  /// The first retry after a failure waits up to this long; each further
  /// consecutive failure doubles it.
  public var backoffBaseMilliseconds: Int64
  /// No backoff waits longer than this, however many failures came before.
  public var backoffCapMilliseconds: Int64
  /// The largest `Retry-After` honoured: the server chooses the value, so a
  /// misconfigured or hostile one cannot park a camera for a year.
  public var maxRetryAfterMilliseconds: Int64

  /// Ten minutes of spread, 1 s doubling up to 5 min, Retry-After honoured up
  /// to 15 min. (A board's `reauth_spread_seconds` defaults to an hour: see
  /// `AgentConfig`.)
  public init(
    reauthSpreadMilliseconds: Int64 = 600_000,
    backoffBaseMilliseconds: Int64 = 1_000,
    backoffCapMilliseconds: Int64 = 300_000,
    maxRetryAfterMilliseconds: Int64 = 900_000
  ) {
    self.reauthSpreadMilliseconds = max(reauthSpreadMilliseconds, 0)
    self.backoffBaseMilliseconds = max(backoffBaseMilliseconds, 0)
    self.backoffCapMilliseconds = max(backoffCapMilliseconds, 0)
    self.maxRetryAfterMilliseconds = max(maxRetryAfterMilliseconds, 0)
  }

  /// The upper end of the backoff window after `attempt` earlier consecutive
  /// failures (0 for the first retry): `min(cap, base · 2^attempt)`, saturating
  /// at the cap instead of overflowing for any `attempt`.
  public func backoffCeiling(attempt: Int) -> Int64 {
    let cap = backoffCapMilliseconds
    guard backoffBaseMilliseconds > 0 else { return 0 }
    let doublings = max(attempt, 0)
    // base ≥ 1, so 2^62 · base already exceeds any cap an Int64 can hold.
    guard doublings < 62 else { return cap }
    let (scaled, overflow) = backoffBaseMilliseconds.multipliedReportingOverflow(by: Int64(1) << doublings)
    return overflow ? cap : min(scaled, cap)
  }
}
