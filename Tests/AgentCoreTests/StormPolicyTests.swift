import AgentCore
import AgentTestSupport
import Testing

@Suite struct StormPolicyTests {
  let policy = StormPolicy(
    reauthSpreadMilliseconds: 600_000, backoffBaseMilliseconds: 1_000, backoffCapMilliseconds: 300_000,
    maxRetryAfterMilliseconds: 900_000, maxPollIntervalMilliseconds: 60_000)

  @Test func reauthStartDelayIsWithinTheSpreadAndUsesAllOfIt() throws {
    var random = SeededRandom(seed: 7)
    var low: Int64 = .max
    var high: Int64 = .min
    for _ in 0..<20_000 {
      let delay = try policy.reauthStartDelay(random: &random)
      #expect(delay >= 0 && delay < 600_000)
      low = min(low, delay)
      high = max(high, delay)
    }
    #expect(low < 1_000 && high > 599_000)
    #expect(try StormPolicy(reauthSpreadMilliseconds: 0).reauthStartDelay(random: &random) == 0)
  }

  @Test func backoffCeilingDoublesUpToTheCap() {
    #expect(policy.backoffCeiling(attempt: 0) == 1_000)
    #expect(policy.backoffCeiling(attempt: 1) == 2_000)
    #expect(policy.backoffCeiling(attempt: 8) == 256_000)
    #expect(policy.backoffCeiling(attempt: 9) == 300_000)
    #expect(policy.backoffCeiling(attempt: -3) == 1_000)
  }

  @Test func backoffDoesNotOverflowForHugeAttempts() throws {
    var random = SeededRandom(seed: 1)
    let huge = StormPolicy(backoffBaseMilliseconds: .max / 3, backoffCapMilliseconds: .max)
    for attempt in [61, 62, 63, 64, 100, 1_000, Int.max] {
      #expect(policy.backoffCeiling(attempt: attempt) == 300_000)
      #expect(huge.backoffCeiling(attempt: attempt) == .max)
      let delay = try policy.backoff(attempt: attempt, random: &random)
      #expect(delay >= 0 && delay <= 300_000)
    }
    #expect(huge.backoffCeiling(attempt: 1) == .max / 3 * 2)
    #expect(huge.backoffCeiling(attempt: 2) == .max)
  }

  @Test func backoffIsFullJitterOverTheWholeWindow() throws {
    var random = SeededRandom(seed: 3)
    let small = StormPolicy(backoffBaseMilliseconds: 1, backoffCapMilliseconds: 6)
    var seen = Set<Int64>()
    for _ in 0..<2_000 { seen.insert(try small.backoff(attempt: 10, random: &random)) }
    #expect(seen == Set(0...6))
    var sum: Int64 = 0
    for _ in 0..<10_000 {
      let delay = try policy.backoff(attempt: 2, random: &random)
      #expect(delay >= 0 && delay <= 4_000)
      sum += delay
    }
    // Uniform over 0...4000: mean 2000.
    #expect(abs(sum / 10_000 - 2_000) < 100)
    #expect(try StormPolicy(backoffBaseMilliseconds: 0).backoff(attempt: 5, random: &random) == 0)
  }

  @Test func networkErrorsAnd5xxBackOff() throws {
    var random = SeededRandom(seed: 4)
    for failure in [
      StormPolicy.Failure.networkError, .serverError(status: 500),
      .serverError(status: 502, retryAfterSeconds: 600),
      .serverError(status: 503), .tooManyRequests(retryAfterSeconds: nil),
    ] {
      for attempt in 0..<12 {
        let delay = try #require(try policy.delayAfter(failure: failure, attempt: attempt, random: &random))
        #expect(delay >= 0 && delay <= policy.backoffCeiling(attempt: attempt), "\(failure) \(attempt)")
      }
    }
  }

  @Test func retryAfterIsHonouredOn429And503AndBounded() throws {
    var random = SeededRandom(seed: 5)
    for makeFailure in [
      { StormPolicy.Failure.tooManyRequests(retryAfterSeconds: $0) },
      { StormPolicy.Failure.serverError(status: 503, retryAfterSeconds: $0) },
    ] {
      // Longer than any backoff at attempt 0: exactly the server's delay.
      #expect(try policy.delayAfter(failure: makeFailure(120), attempt: 0, random: &random) == 120_000)
      // Bounded: a year becomes the 15 min maximum; no overflow.
      #expect(try policy.delayAfter(failure: makeFailure(31_536_000), attempt: 0, random: &random) == 900_000)
      #expect(try policy.delayAfter(failure: makeFailure(.max), attempt: 0, random: &random) == 900_000)
      // Zero or negative never means a hot retry below the backoff.
      for seconds: Int64 in [0, -5, .min] {
        let delay = try #require(
          try policy.delayAfter(failure: makeFailure(seconds), attempt: 3, random: &random))
        #expect(delay >= 0 && delay <= 8_000)
      }
      // Shorter than the backoff window: the backoff still applies.
      for _ in 0..<200 {
        let delay = try #require(try policy.delayAfter(failure: makeFailure(1), attempt: 20, random: &random))
        #expect(delay >= 1_000 && delay <= 300_000)
      }
    }
    #expect(policy.boundedRetryAfter(seconds: 7) == 7_000)
  }

  @Test func slowDownAddsFiveSecondsToTheIntervalBounded() throws {
    var random = SeededRandom(seed: 6)
    #expect(
      try policy.delayAfter(failure: .slowDown, attempt: 0, pollIntervalMilliseconds: 5_000, random: &random)
        == 10_000)
    #expect(
      try policy.delayAfter(failure: .slowDown, attempt: 9, pollIntervalMilliseconds: 12_000, random: &random)
        == 17_000)
    #expect(policy.intervalAfterSlowDown(currentMilliseconds: 58_000) == 60_000)
    #expect(policy.intervalAfterSlowDown(currentMilliseconds: .max) == 60_000)
    #expect(policy.intervalAfterSlowDown(currentMilliseconds: -1) == 5_000)
  }

  @Test func authenticationFailureIsNeverRetriedAutomatically() throws {
    var random = SeededRandom(seed: 8)
    for attempt in [0, 1, 50, Int.max] {
      #expect(try policy.delayAfter(failure: .authenticationFailed, attempt: attempt, random: &random) == nil)
    }
  }
}
