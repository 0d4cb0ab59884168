/// The arithmetic of waiting: backoff with full jitter, `Retry-After` as a
/// floor with jitter on top, doubling with a cap. Saturating everywhere, so
/// no server value and no count of failures can overflow into a trap.
public enum Delays {
  /// `base · 2^times`, at most `cap`.
  public static func doubled(_ base: Int64, times: Int, cap: Int64) -> Int64 {
    guard base > 0 else { return 0 }
    guard times > 0 else { return min(base, cap) }
    guard times < 62 else { return cap }
    let (scaled, overflow) = base.multipliedReportingOverflow(by: Int64(1) << times)
    return overflow ? cap : min(scaled, cap)
  }

  /// Half the ceiling for sure, the other half at random: a slow retry that
  /// still never lines a fleet up.
  public static func equalJitter(_ ceiling: Int64, _ random: inout CoreRandom) -> Int64 {
    let half = ceiling / 2
    return half + random.upTo(ceiling - half)
  }

  /// How long before a step that failed with `failure` is tried again,
  /// after `attempt` earlier failures in a row. Full jitter over the
  /// exponential ceiling; a `Retry-After` (429, 503) is a floor with that
  /// jitter added on top, so devices refused in the same second do not
  /// come back in the same second. Never less than `minimumRetryMs`.
  public static func retry(
    _ failure: TransientFailure, attempt: Int, settings: SessionSettings, _ random: inout CoreRandom
  ) -> Int64 {
    let storm = settings.storm
    let jitter = random.upTo(storm.backoffCeiling(attempt: attempt))
    var floor: Int64 = 0
    switch failure {
    case .network:
      break
    case .server(let status, let retryAfter):
      if status == 503, let retryAfter { floor = bounded(retryAfter, storm) }
    case .tooManyRequests(let retryAfter):
      if let retryAfter { floor = bounded(retryAfter, storm) }
    }
    return max(settings.minimumRetryMs, floor + jitter)
  }

  public static func bounded(_ retryAfterMs: Int64, _ storm: StormPolicy) -> Int64 {
    min(max(retryAfterMs, 0), storm.maxRetryAfterMilliseconds)
  }
}
