import AgentCore
import AgentTestSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// fleet-sim: the load a fleet revoked at t = 0 puts on the authorization
// server while it re-authenticates with the device grant under the real
// StormPolicy. Simulated clock, no sleeping; deterministic for a given seed.

let usage = """
  usage: fleet-sim [--devices N] [--spread SECONDS] [--capacity REQ_PER_S|unlimited]
                   [--overload 429|503|slow_down] [--tight] [--seed N]
    --devices   devices revoked at t = 0 (default 100000)
    --spread    reauth spread window in seconds (default 600)
    --capacity  requests per second the server answers, both endpoints together
                (default: 3 x the expected steady load, so it is not the bottleneck)
    --tight     capacity = half the expected steady load, to show backoff working
    --overload  how the server refuses beyond capacity (default 429, with Retry-After)
    --seed      random seed (default 1)
  """

func fail(_ message: String) -> Never {
  print("fleet-sim: \(message)\n\(usage)")
  exit(64)
}

var devices = 100_000
var spreadSeconds: Int64 = 600
var capacity: Int?? = nil  // nil: default; .some(nil): unlimited
var tight = false
var overload = FleetSimulation.Overload.tooManyRequests
var seed: UInt64 = 1

var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
  if flag == "--tight" {
    tight = true
    continue
  }
  if flag == "-h" || flag == "--help" {
    print(usage)
    exit(0)
  }
  guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
  switch flag {
  case "--devices":
    guard let number = Int(value), number > 0, number < 1 << 24 else { fail("bad --devices") }
    devices = number
  case "--spread":
    guard let number = Int64(value), number >= 0 else { fail("bad --spread") }
    spreadSeconds = number
  case "--capacity":
    if value == "unlimited" {
      capacity = .some(nil)
    } else {
      guard let number = Int(value), number > 0 else { fail("bad --capacity") }
      capacity = .some(number)
    }
  case "--overload":
    switch value {
    case "429": overload = .tooManyRequests
    case "503": overload = .serviceUnavailable
    case "slow_down": overload = .slowDown
    default: fail("bad --overload")
    }
  case "--seed":
    guard let number = UInt64(value) else { fail("bad --seed") }
    seed = number
  default:
    fail("unknown option \(flag)")
  }
}

var configuration = FleetSimulation.Configuration(
  devices: devices, policy: StormPolicy(reauthSpreadMilliseconds: spreadSeconds * 1_000), overload: overload)
if let capacity {
  configuration.capacityPerSecond = capacity
} else if tight {
  configuration.capacityPerSecond = max(configuration.ampleCapacityPerSecond / 6, 1)
} else {
  configuration.capacityPerSecond = configuration.ampleCapacityPerSecond
}

var random = SeededRandom(seed: seed)
let outcome: FleetSimulation.Outcome
do {
  outcome = try FleetSimulation(configuration).run(random: &random)
} catch {
  fail("randomness failed: \(error)")
}

/// Thousandths as "12.345".
func decimal(_ milli: Int64) -> String {
  let fraction = String(milli % 1_000)
  return "\(milli / 1_000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

// devices / spread, in thousandths of a request per second.
let rateMilli = Int64(devices) * 1_000 / max(spreadSeconds, 1)
let perDevice = Int64(outcome.deviceAuthorization.total + outcome.token.total) * 1_000 / Int64(devices)
let capacityText = configuration.capacityPerSecond.map { String($0) } ?? "unlimited"
print("devices \(devices), spread \(spreadSeconds) s, capacity \(capacityText) req/s, seed \(seed)")
print("devices / spread: \(decimal(rateMilli)) /s; requests per device: \(decimal(perDevice))")

func report(_ name: String, _ histogram: LoadHistogram, expectedMilli: Int64) {
  let ratio = Int64(histogram.peak) * 1_000_000 / max(expectedMilli, 1)
  print(
    "\(name): total \(histogram.total), peak \(histogram.peak) /s, busy mean "
      + "\(decimal(Int64(histogram.busyMeanMilli))) /s over \(histogram.busySeconds.count) s, "
      + "p99 \(histogram.busyP99) /s, peak / expected \(decimal(ratio)) (expected \(decimal(expectedMilli)) /s)"
  )
}

report("reauth starts          ", outcome.starts, expectedMilli: rateMilli)
report("device authorization   ", outcome.deviceAuthorization, expectedMilli: rateMilli)
let tokenPerDevice = Int64(outcome.token.total) * 1_000 / Int64(devices)
report("token endpoint (polls) ", outcome.token, expectedMilli: rateMilli * tokenPerDevice / 1_000)
report("token issued           ", outcome.completions, expectedMilli: rateMilli)
print("refused: \(outcome.refused)")
print("last completion: \(decimal(outcome.lastCompletionMilliseconds)) s")
print("completed: \(outcome.completedDevices) of \(devices)")
exit(outcome.completedDevices == devices ? 0 : 1)
