import AgentCore

/// A discrete-event simulation of a fleet revoked at t = 0 that re-authenticates
/// with the device grant (RFC 8628) under the real `StormPolicy`.
///
/// Time is integer milliseconds on a simulated clock; nothing sleeps. Each
/// device:
/// 1. waits `policy.reauthStartDelay`;
/// 2. POSTs to the device authorization endpoint until it is answered;
/// 3. polls the token endpoint every `interval` (5 s, RFC 8628 §3.5); the
///    simulated owner approves 5–60 s after the code was issued, and the first
///    poll after that returns the tokens (in RFC 8628 the successful poll *is*
///    the token request).
///
/// The server answers at most `capacityPerSecond` requests (both endpoints
/// together) in each wall-clock second; beyond that it refuses with
/// `overload`, and the device waits what `policy.delayAfter` says. Network
/// latency is zero: a request is answered at the instant it is sent.
public struct FleetSimulation {
  /// How the server refuses requests beyond its capacity.
  public enum Overload: Equatable, Sendable {
    /// 429 with a `Retry-After` proportional to how overloaded the second is.
    case tooManyRequests
    /// 503 with the same `Retry-After`.
    case serviceUnavailable
    /// Token polls get `slow_down`; device authorization gets a bare 503.
    case slowDown
  }

  public struct Configuration: Equatable, Sendable {
    public var devices: Int
    public var policy: StormPolicy
    /// nil: the server never refuses.
    public var capacityPerSecond: Int?
    public var overload: Overload
    /// The owner approves uniformly in this range after the code is issued.
    public var approvalMilliseconds: ClosedRange<Int64>
    /// The interval the device authorization response gives.
    public var pollIntervalMilliseconds: Int64

    public init(
      devices: Int, policy: StormPolicy, capacityPerSecond: Int? = nil,
      overload: Overload = .tooManyRequests, approvalMilliseconds: ClosedRange<Int64> = 5_000...60_000,
      pollIntervalMilliseconds: Int64 = 5_000
    ) {
      precondition(devices > 0 && devices < 1 << 24)
      self.devices = devices
      self.policy = policy
      self.capacityPerSecond = capacityPerSecond
      self.overload = overload
      self.approvalMilliseconds = approvalMilliseconds
      self.pollIntervalMilliseconds = pollIntervalMilliseconds
    }

    /// Requests one device is expected to make with no refusals: one device
    /// authorization, then polls until the mean approval time, plus the poll
    /// that gets the tokens.
    public var expectedRequestsPerDevice: Int64 {
      let meanApproval = (approvalMilliseconds.lowerBound + approvalMilliseconds.upperBound) / 2
      return 2 + meanApproval / max(pollIntervalMilliseconds, 1)
    }

    /// Three times the expected steady load (`devices / spread` times the
    /// requests per device), so the server is not the bottleneck.
    public var ampleCapacityPerSecond: Int {
      let spreadSeconds = max(policy.reauthSpreadMilliseconds / 1_000, 1)
      let steady = Int64(devices) * expectedRequestsPerDevice / spreadSeconds
      return Int(max(3 * steady, 1))
    }
  }

  /// What the server saw, and when each device got through.
  public struct Outcome: Equatable, Sendable {
    /// Arrivals (answered or refused) at the device authorization endpoint.
    public var deviceAuthorization = LoadHistogram()
    /// Arrivals (answered or refused) at the token endpoint: every poll,
    /// including the one that returns the tokens.
    public var token = LoadHistogram()
    /// The first request of each device's re-authentication, per second:
    /// the load the reauth spread controls.
    public var starts = LoadHistogram()
    /// Successful token responses (one per device), per second.
    public var completions = LoadHistogram()
    public var refused = 0
    public var completedDevices = 0
    public var lastCompletionMilliseconds: Int64 = 0
  }

  private enum Phase: UInt8 {
    case waiting, authorizing, polling, done
  }

  public let configuration: Configuration

  public init(_ configuration: Configuration) { self.configuration = configuration }

  /// Runs until every device holds tokens (or the policy stops a device,
  /// which it must not for these failures).
  public func run<R: RandomSource>(random: inout R) throws(CryptoError) -> Outcome {
    let devices = configuration.devices
    let policy = configuration.policy
    var phase = [Phase](repeating: .waiting, count: devices)
    var failures = [Int](repeating: 0, count: devices)
    var interval = [Int64](repeating: configuration.pollIntervalMilliseconds, count: devices)
    var approvedAt = [Int64](repeating: 0, count: devices)
    var answered: [Int] = []  // per second, for the capacity check
    var refusedIn: [Int] = []  // per second, for Retry-After
    var outcome = Outcome()
    var queue = EventQueue()
    queue.reserve(devices)

    for device in 0..<devices {
      queue.push(time: try policy.reauthStartDelay(random: &random), device: device)
    }

    let approvalSpan = UInt64(configuration.approvalMilliseconds.count)
    while let (now, device) = queue.pop() {
      // The server: is there room in this second?
      let second = Int(now / 1_000)
      if second >= answered.count {
        answered.append(contentsOf: repeatElement(0, count: second + 1 - answered.count))
        refusedIn.append(contentsOf: repeatElement(0, count: second + 1 - refusedIn.count))
      }
      var failure: StormPolicy.Failure? = nil
      if let capacity = configuration.capacityPerSecond, answered[second] >= capacity {
        refusedIn[second] += 1
        outcome.refused += 1
        // A server that knows its load asks the overflow to spread over as
        // many seconds as it would take to answer it.
        let retryAfter = Int64(1 + refusedIn[second] / max(capacity, 1))
        switch configuration.overload {
        case .tooManyRequests: failure = .tooManyRequests(retryAfterSeconds: retryAfter)
        case .serviceUnavailable: failure = .serverError(status: 503, retryAfterSeconds: retryAfter)
        case .slowDown:
          failure = phase[device] == .polling ? .slowDown : .serverError(status: 503, retryAfterSeconds: nil)
        }
      } else {
        answered[second] += 1
      }

      switch phase[device] {
      case .waiting, .authorizing:
        if phase[device] == .waiting { outcome.starts.record(atMilliseconds: now) }
        outcome.deviceAuthorization.record(atMilliseconds: now)
        if let failure {
          phase[device] = .authorizing
          guard
            let delay = try policy.delayAfter(failure: failure, attempt: failures[device], random: &random)
          else { continue }
          failures[device] += 1
          queue.push(time: now + delay, device: device)
        } else {
          phase[device] = .polling
          failures[device] = 0
          approvedAt[device] =
            now + configuration.approvalMilliseconds.lowerBound
            + Int64(try random.uniform(below: approvalSpan))
          queue.push(time: now + interval[device], device: device)
        }
      case .polling:
        outcome.token.record(atMilliseconds: now)
        if let failure {
          guard
            let delay = try policy.delayAfter(
              failure: failure, attempt: failures[device], pollIntervalMilliseconds: interval[device],
              random: &random)
          else { continue }
          if failure == .slowDown {
            interval[device] = delay
          } else {
            failures[device] += 1
          }
          // RFC 8628: never poll faster than the interval, whatever the backoff says.
          queue.push(time: now + max(delay, interval[device]), device: device)
        } else if now >= approvedAt[device] {
          phase[device] = .done
          outcome.completions.record(atMilliseconds: now)
          outcome.completedDevices += 1
          outcome.lastCompletionMilliseconds = max(outcome.lastCompletionMilliseconds, now)
        } else {
          failures[device] = 0
          queue.push(time: now + interval[device], device: device)
        }
      case .done:
        continue
      }
    }
    return outcome
  }
}

/// A binary min-heap of (time, device) packed into one UInt64: time in the
/// high 40 bits (ms, ~34 years), device in the low 24. Ties go to the lower
/// device index, so a run is deterministic.
private struct EventQueue {
  private var heap: [UInt64] = []

  mutating func reserve(_ count: Int) { heap.reserveCapacity(count) }

  mutating func push(time: Int64, device: Int) {
    precondition(time >= 0 && time < 1 << 40)
    heap.append(UInt64(time) << 24 | UInt64(device))
    var child = heap.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard heap[child] < heap[parent] else { break }
      heap.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> (Int64, Int)? {
    guard let top = heap.first else { return nil }
    let last = heap.removeLast()
    if !heap.isEmpty {
      heap[0] = last
      var parent = 0
      while true {
        let left = 2 * parent + 1
        guard left < heap.count else { break }
        var smallest = left
        if left + 1 < heap.count && heap[left + 1] < heap[left] { smallest = left + 1 }
        guard heap[smallest] < heap[parent] else { break }
        heap.swapAt(smallest, parent)
        parent = smallest
      }
    }
    return (Int64(top >> 24), Int(top & 0xFF_FFFF))
  }
}
