import AgentCore
import AgentTestSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// fleet-sim: a fleet whose sessions the cloud ends at once, re-activating
// through the real session core (SessionCore.next) against a
// capacity-limited cloud. Simulated clock, no sleeping; the same seed gives
// the same figures.

let usage = """
  usage: fleet-sim [--devices N] [--seed N] [--overload 429|503|slow_down] [--headroom X]
                   [--capacity-device-authorization N|unlimited] [--capacity-token N|unlimited]
                   [--capacity-api N|unlimited] [--access-ttl SECONDS] [--code-ttl SECONDS]
                   [--fixed-interval] [--reauth-spread SECONDS] [--pairing-backoff-base SECONDS]
                   [--activation-report-delay SECONDS] [--days N] [--no-baseline] [--csv PATH]
    --devices     devices whose sessions end at the revocation (default 100000, at most 16777215)
    --seed        random seed: boot times, token phases, the cores' jitter, the owners (default 1)
    --overload    how an endpoint refuses beyond its capacity: 429 or 503 with a Retry-After
                  proportional to its backlog, or slow_down to token polls (429 elsewhere)
                  (default 429)
    --headroom    each endpoint's capacity is this many times the fleet's steady load
                  (default 3; device authorization gets the token endpoint's figure)
    --capacity-*  an endpoint's capacity in answers per second, instead of the headroom rule
    --access-ttl  the cloud's access token lifetime (default 3600)
    --code-ttl    the device code's expires_in (default 600)
    --fixed-interval  the cloud always hands out RFC 8628's 5 s polling interval instead of
                  sizing it to the live codes it expects and its poll budget
    --reauth-spread, --pairing-backoff-base, --activation-report-delay  the devices'
                  reauth_spread_seconds, pairing_backoff_base_seconds and
                  activation_report_delay_seconds (default: the agent's defaults,
                  \(AgentConfig().reauthSpreadSeconds), \(AgentConfig().pairingBackoffBaseSeconds) and \(AgentConfig().activationReportDelaySeconds))
    --days        simulated days after the revocation (default 8: the 7-day figure needs 8)
    --no-baseline skip the second run on an unlimited cloud (the protocol minimum)
    --csv         write the load per minute (busiest second, mean, refused) to PATH
  Exit status: 0 when every target holds (peak <= 1.2 x capacity at each endpoint,
  requests per device <= 2 x the unlimited cloud's (when that run is made), abandoned
  devices <= 1 request per device per hour from 24 h on, no core invariant broken),
  1 when one is missed, 64 on bad usage.
  """

/// To standard error (the C global `stderr` is not concurrency-safe in Swift 6).
func printError(_ text: String) {
  var bytes = Array(text.utf8)
  bytes.append(10)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
  printError("fleet-sim: \(message)\n\(usage)")
  exit(64)
}

func capacityValue(_ flag: String, _ value: String) -> Int?? {
  if value == "unlimited" { return .some(nil) }
  guard let number = Int(value), number > 0 else { fail("bad \(flag) \(value)") }
  return .some(number)
}

var devices = 100_000
var seed: UInt64 = 1
var overload = FleetOverload.tooManyRequests
var headroom = 3.0
var capacities: [FleetEndpointName: Int?] = [:]
var accessTTL: Int64 = 3_600
var fixedInterval = false
var days: Int64 = 8
var baseline = true
var csvPath: String? = nil
var codeTTL = 600
var reauthSpread: Int64? = nil
var pairingBase: Int64? = nil
var activationReportDelay: Int64? = nil

var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
  switch flag {
  case "-h", "--help":
    print(usage)
    exit(0)
  case "--fixed-interval":
    fixedInterval = true
    continue
  case "--no-baseline":
    baseline = false
    continue
  default:
    break
  }
  guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
  switch flag {
  case "--devices":
    guard let number = Int(value), number > 0, number < 1 << 24 else { fail("bad --devices \(value)") }
    devices = number
  case "--seed":
    guard let number = UInt64(value) else { fail("bad --seed \(value)") }
    seed = number
  case "--overload":
    guard let mode = FleetOverload(rawValue: value) else { fail("bad --overload \(value)") }
    overload = mode
  case "--headroom":
    guard let number = Double(value), number > 0, number <= 1_000 else { fail("bad --headroom \(value)") }
    headroom = number
  case "--capacity-device-authorization":
    capacities[.deviceAuthorization] = capacityValue(flag, value)
  case "--capacity-token":
    capacities[.token] = capacityValue(flag, value)
  case "--capacity-api":
    capacities[.api] = capacityValue(flag, value)
  case "--access-ttl":
    guard let number = Int64(value), number > 0, number <= 366 * 86_400 else {
      fail("bad --access-ttl \(value)")
    }
    accessTTL = number
  case "--days":
    guard let number = Int64(value), number >= 1, number <= 60 else { fail("bad --days \(value)") }
    days = number
  case "--csv":
    csvPath = value
  case "--code-ttl":
    guard let number = Int(value), number >= 15, number <= 86_400 else { fail("bad --code-ttl \(value)") }
    codeTTL = number
  case "--reauth-spread":
    guard let number = Int64(value), number >= 0, number <= 86_400 else {
      fail("bad --reauth-spread \(value)")
    }
    reauthSpread = number
  case "--pairing-backoff-base":
    guard let number = Int64(value), number >= 1, number <= 86_400 else {
      fail("bad --pairing-backoff-base \(value)")
    }
    pairingBase = number
  case "--activation-report-delay":
    guard let number = Int64(value), number >= 0, number <= 86_400 else {
      fail("bad --activation-report-delay \(value)")
    }
    activationReportDelay = number
  default:
    fail("unknown option \(flag)")
  }
}

var configuration = FleetSimulation.Configuration(devices: devices, seed: seed)
configuration.overload = overload
configuration.headroom = headroom
configuration.accessLifetimeMs = accessTTL * 1_000
configuration.adaptiveInterval = !fixedInterval
configuration.horizonMs = days * 86_400_000
configuration.codeLifetimeSeconds = codeTTL
if let reauthSpread {
  configuration.settings.storm.reauthSpreadMilliseconds = reauthSpread * 1_000
}
if let pairingBase { configuration.settings.unattendedBaseMs = pairingBase * 1_000 }
if let activationReportDelay {
  configuration.settings.activationReportDelayMs = activationReportDelay * 1_000
}
configuration.capacity = FleetEndpointName.allCases.map { configuration.defaultCapacity($0) }
for (endpoint, capacity) in capacities { configuration.capacity[endpoint.rawValue] = capacity }

func monotonicSeconds() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

let processStart = monotonicSeconds()

/// Peak resident set size (VmHWM) in MiB, from /proc/self/status.
func peakRSSMiB() -> Int {
  guard let file = fopen("/proc/self/status", "r") else { return -1 }
  defer { fclose(file) }
  var line = [CChar](repeating: 0, count: 256)
  while fgets(&line, Int32(line.count), file) != nil {
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if text.hasPrefix("VmHWM:") {
      let digits = text.filter { $0.isNumber }
      return (Int(digits) ?? 0) / 1_024
    }
  }
  return -1
}

func fixed(_ value: Double, _ places: Int = 2) -> String {
  var scale = 1.0
  for _ in 0..<places { scale *= 10 }
  let scaled = (value * scale).rounded()
  let negative = scaled < 0
  let magnitude = Int(abs(scaled))
  let whole = magnitude / Int(scale)
  var fraction = String(magnitude % Int(scale))
  while fraction.count < places { fraction = "0" + fraction }
  return (negative ? "-" : "") + (places > 0 ? "\(whole).\(fraction)" : "\(whole)")
}

func duration(_ seconds: Int?) -> String {
  guard let seconds else { return "not reached" }
  if seconds < 3_600 { return "\(fixed(Double(seconds) / 60, 1)) min" }
  if seconds < 172_800 { return "\(fixed(Double(seconds) / 3_600, 2)) h" }
  return "\(fixed(Double(seconds) / 86_400, 2)) d"
}

func capacityText(_ capacity: Int?) -> String { capacity.map { "\($0)/s" } ?? "unlimited" }

/// One run, with its wall time and the RSS high-water mark after it.
func simulate(_ configuration: FleetSimulation.Configuration) -> (FleetSimulation.Outcome, Double) {
  let started = monotonicSeconds()
  let outcome = FleetSimulation(configuration).run()
  return (outcome, monotonicSeconds() - started)
}

func writeCSV(_ outcome: FleetSimulation.Outcome, to path: String) -> Bool {
  guard let file = fopen(path, "w") else { return false }
  defer { fclose(file) }
  let revokeSecond = Int(outcome.configuration.revokeAt / 1_000)
  var header = "minute"
  for endpoint in FleetEndpointName.allCases {
    header += ",\(endpoint.label)_peak,\(endpoint.label)_mean,\(endpoint.label)_refused"
    header += ",\(endpoint.label)_capacity"
  }
  header += ",reactivated_share\n"
  fputs(header, file)
  let seconds = outcome.activations.count
  var reactivated = 0
  for second in 0..<min(revokeSecond, seconds) { reactivated += Int(outcome.activations[second]) }
  var minute = -60
  while revokeSecond + (minute + 1) * 60 <= seconds {
    let start = revokeSecond + minute * 60
    var row = "\(minute)"
    for endpoint in FleetEndpointName.allCases {
      let load = outcome.endpoints[endpoint.rawValue]
      var peak: Int32 = 0
      var total = 0
      var refused = 0
      for second in start..<(start + 60) {
        peak = max(peak, load.arrivals[second])
        total += Int(load.arrivals[second])
        refused += Int(load.refused[second])
      }
      let capacity = load.capacity.map { String($0) } ?? ""
      row += ",\(peak),\(fixed(Double(total) / 60)),\(fixed(Double(refused) / 60)),\(capacity)"
    }
    if minute >= 0 {
      for second in start..<(start + 60) { reactivated += Int(outcome.activations[second]) }
    }
    row += ",\(fixed(Double(reactivated) / Double(outcome.configuration.devices), 5))\n"
    fputs(row, file)
    minute += 1
  }
  return true
}

let intervalText =
  configuration.adaptiveInterval
  ? "live codes / \(fixed(configuration.pollShare)) x token capacity, \(configuration.minimumIntervalSeconds)-\(configuration.maximumIntervalSeconds) s"
  : "fixed \(configuration.minimumIntervalSeconds) s"
print(
  "fleet-sim: \(devices) devices, seed \(seed), revoked after a \(configuration.warmUpMs / 60_000) min warm-up, "
    + "\(days) days after; access tokens \(accessTTL) s, device codes \(configuration.codeLifetimeSeconds) s, "
    + "interval \(intervalText); overload \(overload.rawValue)")
print(
  "capacity: "
    + FleetEndpointName.allCases.map {
      "\($0.label) \(capacityText(configuration.capacity[$0.rawValue])) (steady load "
        + "\(fixed(configuration.steadyLoadPerSecond($0), 1))/s)"
    }.joined(separator: ", "))

let (outcome, wall) = simulate(configuration)
let figures = FleetFigures(outcome)
let rssAfterRun = peakRSSMiB()
print(
  "run: \(outcome.events) events in \(fixed(wall, 1)) s, peak RSS \(rssAfterRun) MiB; "
    + "codes issued \(outcome.codesIssued), largest interval \(outcome.largestInterval) s; reports after the "
    + "revocation rejected \(outcome.reportsRejected), accepted \(outcome.reportsAccepted); pairing button pressed "
    + "\(outcome.triggers) times; devices retired into the steady background \(outcome.retired)")

var targetsHeld = true
print("load after the revocation (arrivals a second, answered or refused; busy period = first 24 h):")
for load in figures.loads {
  let ratio = load.peakOverCapacity.map { fixed($0) } ?? "-"
  let held = load.peakOverCapacity.map { $0 <= 1.2 } ?? true
  targetsHeld = targetsHeld && held
  print(
    "  \(load.endpoint.label): peak \(load.peak)/s at +\(duration(load.peakSecond)), busiest minute "
      + "\(fixed(load.peakMinuteMean, 1))/s, busy mean "
      + "\(fixed(load.busyMean, 1))/s, steady before \(fixed(load.steadyMean, 1))/s, capacity "
      + "\(capacityText(load.capacity)), peak / capacity \(ratio) \(held ? "(<= 1.2: ok)" : "(> 1.2: MISSED)"); "
      + "refused \(load.refused) of \(load.total)")
}
print(
  "re-activated: \(fixed(figures.reactivatedShare * 100, 1)) % of the fleet by the end; "
    + "owners who come back: \(outcome.returningDevices) (\(fixed(Double(outcome.returningDevices) * 100 / Double(devices), 1)) %), "
    + "never: \(outcome.abandonedDevices)")
print(
  "  time to re-activate, whole fleet: "
    + figures.fleetReactivated.map { "\($0.share) % \(duration($0.seconds))" }.joined(separator: ", "))
print(
  "  time to re-activate, devices whose owner comes back: "
    + figures.returningReactivated.map { "\($0.share) % \(duration($0.seconds))" }.joined(separator: ", "))
print(
  "  owner's approval to re-activation: p50 \(figures.approvalToActivationP50) s, "
    + "p99 \(figures.approvalToActivationP99) s")
print(
  "requests per re-activated device (revocation to its first report after re-activation), \(figures.doneDevices) devices: "
    + "mean \(fixed(figures.requestsMean)), p99 \(figures.requestsP99); all requests after the revocation per device "
    + "of the fleet: \(fixed(figures.allRequestsMean))")
print(
  "  analytic lower bound (learn by refresh 1 or report+refresh 2, one code, the poll that gets the tokens, "
    + "the report): mean \(fixed(figures.minimumMean)), ratio \(fixed(figures.requestsMean / max(figures.minimumMean, 1)))"
)

if baseline {
  var unlimited = configuration
  unlimited.enforceCapacity = false
  let (free, freeWall) = simulate(unlimited)
  let freeFigures = FleetFigures(free)
  let ratio = figures.requestsMean / max(freeFigures.requestsMean, 1e-9)
  let held = ratio <= 2
  targetsHeld = targetsHeld && held
  print(
    "  protocol minimum (the same core, owners and cloud answers, capacity unlimited; \(fixed(freeWall, 1)) s): "
      + "mean \(fixed(freeFigures.requestsMean)), p99 \(freeFigures.requestsP99); ratio \(fixed(ratio)) "
      + "\(held ? "(<= 2: ok)" : "(> 2: MISSED)"); time to 50/90 % of returning owners' devices there: "
      + freeFigures.returningReactivated.prefix(2).map { duration($0.seconds) }.joined(separator: " / "))
}

let abandonedHeld = figures.abandonedMaxAfter24h <= 1
targetsHeld = targetsHeld && abandonedHeld
print(
  "abandoned devices (\(outcome.abandonedDevices)), requests per device per hour: first hour "
    + "\(fixed(figures.abandonedFirstHour)), hour 24-25 \(fixed(figures.abandonedAt24h)), busiest hour from 24 h on "
    + "\(fixed(figures.abandonedMaxAfter24h)) \(abandonedHeld ? "(<= 1: ok)" : "(> 1: MISSED)"), "
    + "last day (day \(days)) \(fixed(figures.abandonedLastDay))")
print(
  "vault commits per device per day (token responses + session destructions): steady fleet "
    + "\(fixed(figures.commitsSteady)), day 1 after the revocation \(fixed(figures.commitsFirstDay)), "
    + "day \(days) \(fixed(figures.commitsLastDay))")
let violations = outcome.stalls + outcome.stuck + outcome.unexpected
print(
  "core invariants: wake-ups in the past \(outcome.stalls), live states without a wake-up \(outcome.stuck), "
    + "outcomes out of turn \(outcome.unexpected), longest transition chain \(outcome.longestChain)")
targetsHeld = targetsHeld && violations == 0

if let csvPath {
  guard writeCSV(outcome, to: csvPath) else {
    printError("fleet-sim: cannot write \(csvPath)")
    exit(1)
  }
  print("load per minute written to \(csvPath)")
}
print("total run time \(fixed(monotonicSeconds() - processStart, 1)) s, peak RSS \(peakRSSMiB()) MiB")
print(targetsHeld ? "targets: all held" : "targets: MISSED (see above)")
exit(targetsHeld ? 0 : 1)
