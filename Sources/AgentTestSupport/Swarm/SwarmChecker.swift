import AgentCore

/// The swarm's invariants, checked after every input a driver is fed:
/// - no state without a wake-up (but `stopped`), and a wake-up in the future;
/// - no effect chain longer than `SwarmRun.chainLimit` (no recursion);
/// - requests per device within `requestsPerHour` and `requestsPerSecond`;
/// - vault commits within `commitsPerHour`;
/// - the refresh token leaves the vault only after `invalid_grant`;
/// - after `slow_down`, that step waits at least its interval + 5 s;
/// - after a 429/503 with `Retry-After: N`, no endpoint is asked for N s.
/// (The vault invariants are checked at each power cut by `SwarmRun`.)
struct Checker {
  let seed: UInt64
  let mutation: SwarmRun.Mutation?
  let server: SwarmServer
  private var seenRecords = 0
  private var seenCommits = 0
  private var requestTimes: [Int64] = []
  private var commitTimes: [Int64] = []
  private var hadRefreshToken: Bool? = nil
  /// The last answer at each endpoint, and when a restart or trigger last
  /// reset what the device remembers of it.
  private var lastAnswer: [(endpoint: SwarmServer.Endpoint, record: SwarmServer.Record)] = []
  private var resetAt: Int64 = .min
  private var lastDeviceInterval: Int64 = 5
  /// The driver's clock correction at the last check: a step of it (a
  /// server's `Date` adopted) moves every pending timer with it, so the
  /// spacing checks start afresh, as after a restart.
  private var lastOffset: Int64 = 0
  /// The latest `Retry-After` seen: when it came and until when it holds.
  private var quiet: (Int64, Int64)? = nil

  init(seed: UInt64, mutation: SwarmRun.Mutation?, server: SwarmServer) {
    self.seed = seed
    self.mutation = mutation
    self.server = server
  }

  mutating func restarted(at time: Int64) {
    resetAt = time
    seenCommits = 0
  }

  mutating func triggered(at time: Int64) { resetAt = time }

  private func violation(_ invariant: String, _ detail: String) -> SwarmRun.Violation {
    SwarmRun.Violation(seed: seed, invariant: invariant, detail: detail, mutation: mutation)
  }

  mutating func check(_ driver: SwarmRun.Driver, wake: Int64?) -> SwarmRun.Violation? {
    let now = driver.now()
    if let fatal = driver.fatal { return violation("driver alive", fatal.text) }
    if driver.lastChainLength > SwarmRun.chainLimit {
      return violation("no recursion", "\(driver.lastChainLength) transitions in one feed")
    }
    switch driver.core.phase {
    case .stopped:
      break
    case .booting, .starting, .unprovisioned, .pairing, .active, .reauthWait, .identityRefused:
      guard let wake else { return violation("a wake-up", "state \(driver.core.published.name) has none") }
      if wake <= now, !server.cutRequested {
        return violation(
          "progress", "wake-up \(wake - now) ms from now in \(driver.core.phase) report \(driver.core.report)"
        )
      }
    }
    let offset = driver.now() - server.clock.time
    if abs(offset - lastOffset) > 1_000 {
      lastOffset = offset
      resetAt = server.clock.time
    }
    // Requests.
    let records = server.records
    while seenRecords < records.count {
      let record = records[seenRecords]
      seenRecords += 1
      if let failure = checkSpacing(record) { return failure }
      if let failure = checkQuiet(record) { return failure }
      requestTimes.append(record.at)
      let hour =
        requestTimes.count - (requestTimes.firstIndex { $0 > record.at - 3_600_000 } ?? requestTimes.count)
      if hour > SwarmRun.requestsPerHour { return violation("request budget", "\(hour) requests in an hour") }
      let second = requestTimes.reversed().prefix { $0 > record.at - 1_000 }.count
      if second > SwarmRun.requestsPerSecond {
        let recent = records.suffix(second).map {
          "\($0.endpoint) \($0.status) \($0.error ?? "") @\($0.at % 100_000)"
        }
        return violation(
          "request budget", "\(second) requests in a second: \(recent.joined(separator: "; "))")
      }
      if requestTimes.count > 4 * SwarmRun.requestsPerHour {
        requestTimes.removeFirst(SwarmRun.requestsPerHour)
      }
    }
    // Commits.
    let commits = driver.host.commits
    while seenCommits < commits.count {
      let (at, contents) = commits[seenCommits]
      seenCommits += 1
      commitTimes.append(at)
      let hour = commitTimes.filter { $0 > at - 3_600_000 }.count
      if hour > SwarmRun.commitsPerHour {
        return violation("commit budget", "\(hour) vault commits in an hour")
      }
      let hasRefreshToken = contents.refreshToken != nil
      if hadRefreshToken == true, !hasRefreshToken, contents.dpopKey == nil {
        let lastRefresh = lastAnswer.last { $0.endpoint == .refresh }?.record
        if lastRefresh?.error != "invalid_grant" {
          return violation(
            "destroy only after invalid_grant", "last refresh answer: \(lastRefresh?.error ?? "none")")
        }
      }
      hadRefreshToken = hasRefreshToken
    }
    return nil
  }

  /// The spacing a `slow_down` or `Retry-After` asked for, unless a restart
  /// or a person at the camera came in between.
  private mutating func checkSpacing(_ record: SwarmServer.Record) -> SwarmRun.Violation? {
    defer {
      lastAnswer.removeAll { $0.endpoint == record.endpoint }
      lastAnswer.append((record.endpoint, record))
      if record.endpoint == .deviceAuthorization, let interval = record.interval {
        lastDeviceInterval = interval
      }
    }
    guard let previous = lastAnswer.last(where: { $0.endpoint == record.endpoint })?.record,
      previous.at > resetAt
    else { return nil }
    let gap = record.at - previous.at
    if previous.error == "slow_down" {
      let wanted: Int64 = record.endpoint == .tokenPoll ? 6_000 : 10_000
      if gap < wanted { return violation("slow_down honoured", "\(record.endpoint) again after \(gap) ms") }
    }
    return nil
  }

  /// After a 429/503 with `Retry-After: N`, no request to any endpoint of
  /// that cloud for N s (unless a restart, a trigger or a clock step came
  /// in between).
  private mutating func checkQuiet(_ record: SwarmServer.Record) -> SwarmRun.Violation? {
    defer {
      if record.status == 429 || record.status == 503, let seconds = record.retryAfterSeconds, seconds <= 900
      {
        let until = record.at + seconds * 1_000
        if quiet == nil || quiet!.1 < until { quiet = (record.at, until) }
      }
    }
    guard let (from, until) = quiet, from > resetAt, record.at < until else { return nil }
    return violation(
      "Retry-After honoured",
      "\(record.endpoint) \(until - record.at) ms before the Retry-After of \(from) ran out")
  }
}
