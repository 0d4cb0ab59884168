/// The session core's own random numbers: a SplitMix64 generator kept in
/// the state value, so the transition function stays pure and a simulation
/// replays exactly from its seed. The board seeds it from OpenSSL at start.
/// It only draws jitter (when to retry), never key material.
public struct CoreRandom: Equatable, Sendable {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in `0...bound` (0 when `bound` ≤ 0). Multiply-high mapping:
  /// its bias (< 2^-40 for any bound a timer uses) does not matter for jitter.
  public mutating func upTo(_ bound: Int64) -> Int64 {
    guard bound > 0 else { return 0 }
    let span = UInt64(bound) &+ 1
    return Int64(span.multipliedFullWidth(by: next()).high)
  }
}
