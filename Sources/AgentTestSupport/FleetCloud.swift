import AgentCore

/// How a cloud endpoint refuses a request beyond its capacity.
public enum FleetOverload: String, Equatable, Sendable, CaseIterable {
  /// 429 Too Many Requests with a `Retry-After` (RFC 6585 §4).
  case tooManyRequests = "429"
  /// 503 Service Unavailable with a `Retry-After` (RFC 9110 §15.6.4).
  case serviceUnavailable = "503"
  /// Device-grant token polls get `slow_down` (RFC 8628 §3.5: the device
  /// adds 5 s to its interval); every other request gets a 429.
  case slowDown = "slow_down"
}

/// The fleet's endpoints, in the order the figures are printed.
public enum FleetEndpointName: Int, CaseIterable, Sendable {
  case deviceAuthorization = 0
  case token = 1
  case api = 2

  public var label: String {
    switch self {
    case .deviceAuthorization: return "device_authorization"
    case .token: return "token"
    case .api: return "report_api"
    }
  }
}

/// One endpoint of the simulated cloud: answers at most `capacity`
/// requests in each second of the simulated clock and refuses the rest.
///
/// A refusal carries a `Retry-After` proportional to the endpoint's backlog:
/// the endpoint books each refused request a slot in a later second, at most
/// `retryShare` of its capacity of booked retries a second (the rest is kept
/// for requests that come fresh), and tells the device how far away its slot
/// is (a queue the device waits in at home). The core adds its own jitter on
/// top.
public struct FleetEndpoint: Sendable {
  /// Answers per second; nil: unlimited.
  public let capacity: Int?
  /// Per simulated second: requests that arrived (answered or refused)...
  public private(set) var arrivals: [Int32]
  /// ...and those refused.
  public private(set) var refused: [Int32]
  private var booked: [Int32]
  private var cursor = 0
  private let quota: Int32

  init(capacity: Int?, seconds: Int, retryShare: Double) {
    self.capacity = capacity
    quota = Int32(max((Double(capacity ?? 0) * retryShare).rounded(.down), 1))
    arrivals = [Int32](repeating: 0, count: seconds)
    refused = [Int32](repeating: 0, count: seconds)
    booked = capacity == nil ? [] : [Int32](repeating: 0, count: seconds)
  }

  /// Requests from devices in steady state, answered first (see
  /// `FleetSimulation`'s retirement).
  mutating func addBackground(_ count: Int, second: Int) {
    guard second < arrivals.count else { return }
    arrivals[second] &+= Int32(count)
  }

  /// A request at `ms`: nil if answered, else the `Retry-After` in seconds.
  mutating func admit(at ms: Int64) -> Int64? {
    let second = Int(ms / 1_000)
    arrivals[second] &+= 1
    guard let capacity, Int(arrivals[second] - refused[second]) > capacity else { return nil }
    refused[second] &+= 1
    cursor = max(cursor, second + 1)
    while cursor < booked.count && booked[cursor] >= quota { cursor += 1 }
    guard cursor < booked.count else { return 900 }
    booked[cursor] += 1
    return Int64(cursor - second)
  }
}

/// The cloud's device codes (RFC 8628): which are live, for the polling
/// interval it hands out. A real authorization server can count its live
/// device codes (issued, not yet redeemed, not expired); so does this one,
/// in one-second buckets over the code lifetime. A device holds one code at
/// a time: a new request replaces its old code.
struct FleetCodeBook {
  let lifetimeSeconds: Int
  private var buckets: [Int32]
  private var windowSecond = 0
  private(set) var live = 0

  init(lifetimeSeconds: Int) {
    self.lifetimeSeconds = max(lifetimeSeconds, 1)
    buckets = [Int32](repeating: 0, count: self.lifetimeSeconds)
  }

  /// Codes issued more than a lifetime ago have expired.
  mutating func advance(to second: Int) {
    while windowSecond < second {
      windowSecond += 1
      let slot = windowSecond % lifetimeSeconds
      live -= Int(buckets[slot])
      buckets[slot] = 0
    }
  }

  mutating func issue(at second: Int) {
    advance(to: second)
    buckets[second % lifetimeSeconds] += 1
    live += 1
  }

  /// A code issued at `issued` was redeemed or replaced.
  mutating func remove(issuedAt issued: Int, now second: Int) {
    advance(to: second)
    guard issued > second - lifetimeSeconds, issued <= second else { return }
    buckets[issued % lifetimeSeconds] -= 1
    live -= 1
  }
}
