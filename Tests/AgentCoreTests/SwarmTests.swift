import AgentCore
import AgentTestSupport
import Testing

/// The swarm simulator in every test run: seeds of one device each, through
/// the real driver, core, cloud client and vault, against random answers and
/// power cuts (`swift run -c release swarm-sim --seeds 1000000` for a long
/// campaign). And each invariant shown to fire on a deliberately broken policy.
@Suite struct SwarmTests {
  @Test func seedsKeepEveryInvariant() {
    var requests = 0
    var cuts = 0
    for seed in 1...400 as ClosedRange<UInt64> {
      switch SwarmRun(seed: seed).run() {
      case .success(let summary):
        requests += summary.requests
        cuts += summary.powerCuts
      case .failure(let violation):
        Issue.record("\(violation)")
        return
      }
    }
    // The seeds did exercise the device (not a swarm of idle ones).
    #expect(requests > 5_000)
    #expect(cuts > 100)
  }

  @Test(arguments: SwarmRun.Mutation.allCases)
  func aBrokenPolicyIsCaught(mutation: SwarmRun.Mutation) {
    for seed in 1...600 as ClosedRange<UInt64> {
      if case .failure(let violation) = SwarmRun(seed: seed, mutation: mutation).run() {
        #expect(violation.description.contains("--break \(mutation.rawValue)"))
        return
      }
    }
    Issue.record("the broken policy \(mutation.rawValue) went unnoticed for 600 seeds")
  }
}
