import AgentCore
import Testing

/// The waiting arithmetic the session core retries by (`StormPolicy`'s
/// numbers, `Delays`' rules), over many draws of the core's own random
/// numbers rather than a few chosen values.
@Suite struct StormPolicyTests {
  let policy = StormPolicy(
    reauthSpreadMilliseconds: 600_000, backoffBaseMilliseconds: 1_000, backoffCapMilliseconds: 300_000,
    maxRetryAfterMilliseconds: 900_000)

  var settings: SessionSettings { SessionSettings(storm: policy) }

  @Test func backoffCeilingDoublesUpToTheCap() {
    #expect(policy.backoffCeiling(attempt: 0) == 1_000)
    #expect(policy.backoffCeiling(attempt: 1) == 2_000)
    #expect(policy.backoffCeiling(attempt: 8) == 256_000)
    #expect(policy.backoffCeiling(attempt: 9) == 300_000)
    #expect(policy.backoffCeiling(attempt: -3) == 1_000)
    #expect(StormPolicy(backoffBaseMilliseconds: 0).backoffCeiling(attempt: 5) == 0)
  }

  @Test func nothingOverflowsForHugeAttemptsOrValues() {
    let huge = StormPolicy(backoffBaseMilliseconds: .max / 3, backoffCapMilliseconds: .max)
    for attempt in [61, 62, 63, 64, 100, 1_000, Int.max] {
      #expect(policy.backoffCeiling(attempt: attempt) == 300_000)
      #expect(huge.backoffCeiling(attempt: attempt) == .max)
      #expect(Delays.doubled(1_800_000, times: attempt, cap: 43_200_000) == 43_200_000)
    }
    #expect(huge.backoffCeiling(attempt: 1) == .max / 3 * 2)
    #expect(huge.backoffCeiling(attempt: 2) == .max)
    #expect(Delays.doubled(.max / 2, times: 3, cap: .max) == .max)
  }

  /// Full jitter: every value of the window is drawn, the mean is its middle,
  /// and no retry is sooner than the minimum.
  @Test func networkErrorsAnd5xxBackOffWithFullJitter() {
    var random = CoreRandom(seed: 3)
    for failure in [
      TransientFailure.network, .server(status: 500, retryAfterMs: nil),
      .server(status: 502, retryAfterMs: 600_000), .tooManyRequests(retryAfterMs: nil),
    ] {
      for attempt in 0..<12 {
        for _ in 0..<200 {
          let delay = Delays.retry(failure, attempt: attempt, settings: settings, &random)
          #expect(delay >= settings.minimumRetryMs && delay <= policy.backoffCeiling(attempt: attempt))
        }
      }
    }
    var sum: Int64 = 0
    for _ in 0..<10_000 { sum += Delays.retry(.network, attempt: 2, settings: settings, &random) }
    // Uniform over 0...4000 (the first 50 ms raised to the minimum): mean ~2000.
    #expect(abs(sum / 10_000 - 2_000) < 100)
  }

  /// `Retry-After` on 429 and 503 is a floor, bounded, with the jitter on top.
  @Test func retryAfterIsAFloorWithJitterAndBounded() {
    var random = CoreRandom(seed: 5)
    let kinds: [(Int64) -> TransientFailure] = [
      { .tooManyRequests(retryAfterMs: $0) }, { .server(status: 503, retryAfterMs: $0) },
    ]
    for make in kinds {
      var seen = Set<Int64>()
      for _ in 0..<500 {
        let delay = Delays.retry(make(120_000), attempt: 0, settings: settings, &random)
        #expect(delay >= 120_000 && delay <= 121_000)
        seen.insert(delay)
      }
      #expect(seen.count > 300, "devices refused together do not return together")
      // A year becomes the 15 min maximum (plus jitter); no overflow.
      for value: Int64 in [31_536_000_000, .max] {
        let delay = Delays.retry(make(value), attempt: 0, settings: settings, &random)
        #expect(delay >= 900_000 && delay <= 901_000)
      }
      // Zero or negative never means a hot retry.
      for value: Int64 in [0, -5_000, .min] {
        let delay = Delays.retry(make(value), attempt: 3, settings: settings, &random)
        #expect(delay >= settings.minimumRetryMs && delay <= 8_000)
      }
    }
  }

  @Test func equalJitterKeepsHalfAndDrawsTheRest() {
    var random = CoreRandom(seed: 9)
    var seen = Set<Int64>()
    for _ in 0..<2_000 {
      let delay = Delays.equalJitter(10, &random)
      #expect(delay >= 5 && delay <= 10)
      seen.insert(delay)
    }
    #expect(seen == Set(5...10))
  }
}
