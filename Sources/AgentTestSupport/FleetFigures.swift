/// The figures a fleet run is judged by, computed from its `Outcome`.
/// Integer inputs, so the same seed prints the same figures.
public struct FleetFigures: Sendable {
  public struct Load: Sendable {
    public var endpoint: FleetEndpointName
    public var capacity: Int?
    /// Arrivals (answered or refused) in the busiest second after the revocation.
    public var peak: Int
    public var peakSecond: Int
    /// Mean arrivals a second over the busy period (the first 24 h after the revocation).
    public var busyMean: Double
    /// Mean arrivals a second over the warm-up's last hour (the steady fleet).
    public var steadyMean: Double
    /// The busiest whole minute after the revocation, mean arrivals a second
    /// (what a small fleet is judged by: its per-second counts are noise).
    public var peakMinuteMean: Double
    public var refused: Int
    public var total: Int
    public var peakOverCapacity: Double? { capacity.map { Double(peak) / Double($0) } }
  }

  public var loads: [Load] = []
  /// Devices re-activated and reporting again by the end.
  public var doneDevices = 0
  /// Requests from the revocation to the first accepted report after
  /// re-activation, per such device.
  public var requestsMean = 0.0
  public var requestsP99 = 0
  /// The same for the fewest requests each device's path allows.
  public var minimumMean = 0.0
  /// Every request after the revocation, per device of the fleet.
  public var allRequestsMean = 0.0
  /// Seconds after the revocation by which this share of the whole fleet,
  /// and of the devices whose owners come back, was re-activated (nil: never).
  public var fleetReactivated: [(share: Int, seconds: Int?)] = []
  public var returningReactivated: [(share: Int, seconds: Int?)] = []
  public var reactivatedShare = 0.0
  /// From the owner's approval to the camera's re-activation, seconds.
  public var approvalToActivationP50 = 0
  public var approvalToActivationP99 = 0
  /// Requests per abandoned device per hour: in the hour from 24 h, the
  /// largest hour from 24 h on, and the last full day of the run.
  public var abandonedAt24h = 0.0
  public var abandonedMaxAfter24h = 0.0
  public var abandonedLastDay = 0.0
  public var abandonedFirstHour = 0.0
  /// Vault commits per device per day: the steady fleet (warm-up), the
  /// first day after the revocation, and the last full day.
  public var commitsSteady = 0.0
  public var commitsFirstDay = 0.0
  public var commitsLastDay = 0.0

  public init(_ outcome: FleetSimulation.Outcome) {
    let config = outcome.configuration
    let revokeSecond = Int(config.revokeAt / 1_000)
    let busyEnd = revokeSecond + 86_400
    let devices = Double(config.devices)
    for endpoint in FleetEndpointName.allCases {
      let load = outcome.endpoints[endpoint.rawValue]
      var peak = 0
      var peakSecond = 0
      var total = 0
      var refused = 0
      var busy = 0
      var minute = 0
      var peakMinute = 0
      for second in revokeSecond..<load.arrivals.count {
        let count = Int(load.arrivals[second])
        minute += count
        if (second - revokeSecond) % 60 == 59 {
          peakMinute = max(peakMinute, minute)
          minute = 0
        }
        total += count
        refused += Int(load.refused[second])
        if second < busyEnd { busy += count }
        if count > peak {
          peak = count
          peakSecond = second - revokeSecond
        }
      }
      let steadyStart = max(revokeSecond - 3_600, 0)
      var steady = 0
      for second in steadyStart..<revokeSecond { steady += Int(load.arrivals[second]) }
      loads.append(
        Load(
          endpoint: endpoint, capacity: config.enforceCapacity ? config.capacity[endpoint.rawValue] : nil,
          peak: peak, peakSecond: peakSecond, busyMean: Double(busy) / 86_400,
          steadyMean: Double(steady) / Double(max(revokeSecond - steadyStart, 1)),
          peakMinuteMean: Double(peakMinute) / 60, refused: refused, total: total))
    }

    var requests: [UInt32] = []
    var minimum = 0
    for device in 0..<config.devices where outcome.minimumRequests[device] > 0 {
      requests.append(outcome.requestsToDone[device])
      minimum += Int(outcome.minimumRequests[device])
    }
    doneDevices = requests.count
    requests.sort()
    if !requests.isEmpty {
      requestsMean = Double(requests.reduce(0) { $0 + Int($1) }) / Double(requests.count)
      requestsP99 = Int(requests[Self.rank(99, of: requests.count)])
      minimumMean = Double(minimum) / Double(requests.count)
    }
    allRequestsMean = Double(outcome.requestsTotal.reduce(0) { $0 + Int($1) }) / devices

    var reactivated = outcome.reactivatedAfter.filter { $0 >= 0 }
    reactivated.sort()
    reactivatedShare = Double(reactivated.count) / devices
    for share in [50, 90, 99] {
      let fleetRank = (config.devices * share + 99) / 100
      fleetReactivated.append((share, fleetRank <= reactivated.count ? Int(reactivated[fleetRank - 1]) : nil))
      let returningRank = (outcome.returningDevices * share + 99) / 100
      returningReactivated.append(
        (
          share,
          returningRank <= reactivated.count && returningRank > 0 ? Int(reactivated[returningRank - 1]) : nil
        ))
    }
    var latency = outcome.approvalToActivation
    latency.sort()
    if !latency.isEmpty {
      approvalToActivationP50 = Int(latency[Self.rank(50, of: latency.count)])
      approvalToActivationP99 = Int(latency[Self.rank(99, of: latency.count)])
    }

    let abandoned = Double(max(outcome.abandonedDevices, 1))
    let hours = outcome.abandonedRequestsPerHour
    let fullHours = Int(config.horizonMs / 3_600_000)
    abandonedFirstHour = Double(hours.first ?? 0) / abandoned
    if fullHours > 24 {
      abandonedAt24h = Double(hours[24]) / abandoned
      abandonedMaxAfter24h = Double(hours[24..<fullHours].max() ?? 0) / abandoned
    }
    if fullHours >= 24 {
      abandonedLastDay = Double(hours[(fullHours - 24)..<fullHours].reduce(0, +)) / abandoned / 24
    }
    let days = Double(outcome.steadyWindowMs) / 86_400_000
    commitsSteady = Double(outcome.steadyCommits) / devices / days
    commitsFirstDay = Double(outcome.commitsPerDay.first ?? 0) / devices
    let fullDays = Int(config.horizonMs / 86_400_000)
    if fullDays >= 1 { commitsLastDay = Double(outcome.commitsPerDay[fullDays - 1]) / devices }
  }

  /// Nearest-rank index of the `percent`-th percentile among `count` values.
  static func rank(_ percent: Int, of count: Int) -> Int {
    min(max((count * percent + 99) / 100, 1), count) - 1
  }

  public func load(_ endpoint: FleetEndpointName) -> Load { loads[endpoint.rawValue] }
}
