/// Requests per simulated second, and the figures a load curve is judged by.
public struct LoadHistogram: Equatable, Sendable {
  /// `counts[s]` is the number of requests that arrived in second `s`.
  public private(set) var counts: [Int] = []

  public init() {}

  public mutating func record(atMilliseconds time: Int64) {
    let second = Int(time / 1_000)
    if second >= counts.count {
      counts.append(contentsOf: repeatElement(0, count: second + 1 - counts.count))
    }
    counts[second] += 1
  }

  public var total: Int { counts.reduce(0, +) }
  public var peak: Int { counts.max() ?? 0 }

  /// First through last second with any request.
  public var busySeconds: Range<Int> {
    guard let first = counts.firstIndex(where: { $0 > 0 }), let last = counts.lastIndex(where: { $0 > 0 })
    else { return 0..<0 }
    return first..<(last + 1)
  }

  /// Mean requests per second over the busy period, in thousandths
  /// (integer, so the figure is exact and reproducible).
  public var busyMeanMilli: Int {
    let busy = busySeconds
    guard !busy.isEmpty else { return 0 }
    return total * 1_000 / busy.count
  }

  /// The 99th percentile (nearest rank) of the per-second counts over the busy period.
  public var busyP99: Int {
    let busy = counts[busySeconds].sorted()
    guard !busy.isEmpty else { return 0 }
    let rank = (busy.count * 99 + 99) / 100
    return busy[min(rank, busy.count) - 1]
  }
}
