/// Storm control: when a device retries, and when it must not.
///
/// A fleet can be revoked, or its server can fail, all at once. If every
/// camera reacted at the same instant, or retried on a fixed schedule, the
/// server would see the whole fleet in the same second, again and again. This
/// policy turns "what just happened" into "how long to wait", with the
/// randomness passed in so that a board (OpenSSL), a unit test and a fleet
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
  /// The largest device-grant polling interval that repeated `slow_down`
  /// answers can push a device to.
  public var maxPollIntervalMilliseconds: Int64

  /// What RFC 8628 §3.5 adds to the polling interval on each `slow_down`.
  public static let slowDownIncrementMilliseconds: Int64 = 5_000

  /// Ten minutes of spread, 1 s doubling up to 5 min, Retry-After honoured up
  /// to 15 min, polling never slower than once a minute.
  public init(
    reauthSpreadMilliseconds: Int64 = 600_000,
    backoffBaseMilliseconds: Int64 = 1_000,
    backoffCapMilliseconds: Int64 = 300_000,
    maxRetryAfterMilliseconds: Int64 = 900_000,
    maxPollIntervalMilliseconds: Int64 = 60_000
  ) {
    self.reauthSpreadMilliseconds = max(reauthSpreadMilliseconds, 0)
    self.backoffBaseMilliseconds = max(backoffBaseMilliseconds, 0)
    self.backoffCapMilliseconds = max(backoffCapMilliseconds, 0)
    self.maxRetryAfterMilliseconds = max(maxRetryAfterMilliseconds, 0)
    self.maxPollIntervalMilliseconds = max(maxPollIntervalMilliseconds, 0)
  }

  /// How long to wait before starting a forced re-authentication (the device
  /// grant after `invalid_grant` / `invalid_token`): uniform in
  /// `0..<reauthSpreadMilliseconds`, or 0 when the spread is 0.
  public func reauthStartDelay<R: RandomSource>(random: inout R) throws(CryptoError) -> Int64 {
    guard reauthSpreadMilliseconds > 0 else { return 0 }
    return Int64(try random.uniform(below: UInt64(reauthSpreadMilliseconds)))
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

  /// Exponential backoff with full jitter: uniform in
  /// `0...backoffCeiling(attempt:)`. Full jitter (rather than the ceiling
  /// itself, or the ceiling plus a little noise) is what keeps devices that
  /// failed in the same second from coming back in the same second.
  public func backoff<R: RandomSource>(attempt: Int, random: inout R) throws(CryptoError) -> Int64 {
    let ceiling = backoffCeiling(attempt: attempt)
    guard ceiling > 0 else { return 0 }
    return Int64(try random.uniform(below: UInt64(ceiling) + 1))
  }

  /// The polling interval after a `slow_down` answer: the current interval
  /// plus 5 s (RFC 8628 §3.5; the increase applies to every later poll, so the
  /// caller keeps the result), bounded by `maxPollIntervalMilliseconds`.
  public func intervalAfterSlowDown(currentMilliseconds: Int64) -> Int64 {
    let current = min(max(currentMilliseconds, 0), maxPollIntervalMilliseconds)
    return min(current + Self.slowDownIncrementMilliseconds, maxPollIntervalMilliseconds)
  }

  /// How long to wait before the next automatic attempt after `failure`, or
  /// nil when there must be no automatic retry.
  ///
  /// - Parameters:
  ///   - attempt: earlier consecutive failures of this request (0 for the
  ///     first failure); reset it after a success.
  ///   - pollIntervalMilliseconds: the current device-grant polling interval;
  ///     only `slowDown` uses it.
  /// - Returns:
  ///   - network errors and 5xx: `backoff(attempt:)`;
  ///   - 429, and 503 with `Retry-After`: the larger of the backoff and the
  ///     server's delay, that delay first clamped to
  ///     `0...maxRetryAfterMilliseconds` (the server knows its load; the
  ///     jittered backoff still applies when it asks for less);
  ///   - `slowDown`: `intervalAfterSlowDown(currentMilliseconds:)`;
  ///   - `authenticationFailed`: nil. Retrying a refused credential cannot
  ///     succeed and, fleet-wide, is exactly the storm this policy exists to
  ///     prevent: the session drops its tokens and goes to re-authentication,
  ///     which is spread by `reauthStartDelay(random:)`.
  public func delayAfter<R: RandomSource>(
    failure: Failure, attempt: Int, pollIntervalMilliseconds: Int64 = 5_000, random: inout R
  ) throws(CryptoError) -> Int64? {
    switch failure {
    case .networkError:
      return try backoff(attempt: attempt, random: &random)
    case .serverError(let status, let retryAfterSeconds):
      let jittered = try backoff(attempt: attempt, random: &random)
      guard status == 503, let retryAfterSeconds else { return jittered }
      return max(jittered, boundedRetryAfter(seconds: retryAfterSeconds))
    case .tooManyRequests(let retryAfterSeconds):
      let jittered = try backoff(attempt: attempt, random: &random)
      guard let retryAfterSeconds else { return jittered }
      return max(jittered, boundedRetryAfter(seconds: retryAfterSeconds))
    case .slowDown:
      return intervalAfterSlowDown(currentMilliseconds: pollIntervalMilliseconds)
    case .authenticationFailed:
      return nil
    }
  }

  /// A `Retry-After` in seconds as milliseconds in `0...maxRetryAfterMilliseconds`.
  public func boundedRetryAfter(seconds: Int64) -> Int64 {
    guard seconds > 0 else { return 0 }
    let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
    return overflow ? maxRetryAfterMilliseconds : min(milliseconds, maxRetryAfterMilliseconds)
  }
}
