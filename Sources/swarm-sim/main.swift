import AgentCore
import AgentTestSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// swarm-sim: many seeds, each one device running the real session core,
// driver, cloud client and vault against a cloud whose every answer is
// drawn at random, with power cuts; invariants checked after every step.

let usage = """
  usage: swarm-sim [--seeds N] [--first SEED] [--seed SEED] [--break floor0|slowdown|recursion] [--quiet]
    --seeds  how many seeds to run (default 1000)
    --first  the first seed (default 1); seeds run first, first+1, ...
    --seed   run exactly this one seed (a failing seed's reproduction)
    --break  run a deliberately broken policy; exits 0 only if a violation is found
    --quiet  no progress lines
  Exit: 0 all seeds kept every invariant (with --break: a violation was found),
        1 a violation (its reproduction line is printed), 64 bad usage.
  """

func fail(_ message: String) -> Never {
  print("swarm-sim: \(message)\n\(usage)")
  exit(64)
}

var count: UInt64 = 1_000
var first: UInt64 = 1
var mutation: SwarmRun.Mutation? = nil
var quiet = false
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
  switch flag {
  case "-h", "--help":
    print(usage)
    exit(0)
  case "--seeds":
    guard let value = arguments.popFirst().flatMap({ UInt64($0) }), value > 0 else {
      fail("--seeds needs a count")
    }
    count = value
  case "--first":
    guard let value = arguments.popFirst().flatMap({ UInt64($0) }) else { fail("--first needs a seed") }
    first = value
  case "--seed":
    guard let value = arguments.popFirst().flatMap({ UInt64($0) }) else { fail("--seed needs a seed") }
    first = value
    count = 1
  case "--break":
    guard let value = arguments.popFirst(), let parsed = SwarmRun.Mutation(rawValue: value) else {
      fail("--break needs floor0, slowdown or recursion")
    }
    mutation = parsed
  case "--quiet":
    quiet = true
  default:
    fail("unknown argument \(flag)")
  }
}

var totals = SwarmRun.Summary()
func monotonicSeconds() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
let started = monotonicSeconds()
func elapsed() -> Double { monotonicSeconds() - started }
for seed in first..<(first + count) {
  switch SwarmRun(seed: seed, mutation: mutation).run() {
  case .success(let summary):
    totals.requests += summary.requests
    totals.commits += summary.commits
    totals.powerCuts += summary.powerCuts
    totals.activations += summary.activations
    totals.simulatedMs += summary.simulatedMs
  case .failure(let violation):
    print("swarm-sim: VIOLATION \(violation)")
    if mutation != nil {
      print("swarm-sim: the broken policy '\(mutation!.rawValue)' was caught after \(seed - first + 1) seeds")
      exit(0)
    }
    exit(1)
  }
  let done = seed - first + 1
  if !quiet, done % 1_000 == 0 || done == count {
    print(
      "swarm-sim: \(done)/\(count) seeds, \(totals.requests) requests, \(totals.powerCuts) power cuts, \(Int(elapsed())) s"
    )
    // Progress of a long campaign must show in a log file as it happens
    // (stdout to a file is block-buffered: 50,000 seeds between writes).
    fflush(nil)
  }
}
let hours = Double(totals.simulatedMs) / 3_600_000
print(
  "swarm-sim: \(count) seeds (\(first)...\(first + count - 1)), 0 invariant violations; "
    + "\(totals.requests) requests, \(totals.commits) vault commits, \(totals.powerCuts) power cuts, "
    + "\(Int(hours)) simulated device-hours, \(Int(elapsed())) s")
if let mutation {
  print("swarm-sim: the broken policy '\(mutation.rawValue)' was NOT caught in \(count) seeds")
  exit(1)
}
