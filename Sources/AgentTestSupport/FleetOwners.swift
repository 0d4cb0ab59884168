#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The camera owners of a fleet after a mass logout, drawn per device from
/// a hash of (seed, device, draw), never from a shared stream: the same
/// seed gives every device the same owner whatever the cloud does, so a run
/// against a limited cloud and one against an unlimited cloud face the
/// same people.
///
/// Times count from the revocation (when the owners are told).
public struct FleetOwners: Equatable, Sendable {
  /// Owners who never come back (the camera is in a drawer, sold, the
  /// owner gave up on the service).
  public var neverShare = 0.15
  /// Owners who come back after days (away, on holiday, ignore mail).
  public var daysShare = 0.10
  /// Everyone else: lognormal with this median and shape (σ of ln t).
  public var medianMs: Double = 3_600_000
  public var sigma = 1.0
  /// The days-late owners: lognormal too.
  public var daysMedianMs: Double = 36 * 3_600_000
  public var daysSigma = 0.6
  /// Of the owners who come back, this share denies the first code they see
  /// (they did not expect it), and returns to approve after a lognormal
  /// delay with this median and shape.
  public var denyShare = 0.05
  public var denyReturnMedianMs: Double = 2 * 3_600_000
  public var denyReturnSigma = 0.8
  /// From reading the code to the cloud holding the approval (typing the
  /// code, the second factor): uniform in this range.
  public var typingMs: ClosedRange<Int64> = 30_000...180_000
  /// An owner whose camera is still not back this long after they last
  /// acted looks again (and presses the pairing button if it shows no code).
  public var patienceMs: Int64 = 600_000

  public init() {}

  /// One owner: when they first look (nil: never), and, for a denier, how
  /// long after the denial they come back to approve.
  public struct Owner: Equatable, Sendable {
    public var firstLookMs: Int64?
    public var denyReturnMs: Int64?
  }

  public func owner(seed: UInt64, device: Int) -> Owner {
    let kind = Self.unit(seed, device, 0)
    if kind < neverShare { return Owner(firstLookMs: nil, denyReturnMs: nil) }
    let late = kind < neverShare + daysShare
    let look = Self.lognormal(
      median: late ? daysMedianMs : medianMs, sigma: late ? daysSigma : sigma, seed, device, 1)
    var deny: Int64? = nil
    if Self.unit(seed, device, 3) < denyShare {
      deny = Self.lognormal(median: denyReturnMedianMs, sigma: denyReturnSigma, seed, device, 4)
    }
    return Owner(firstLookMs: look, denyReturnMs: deny)
  }

  /// The `n`-th typing delay of this device's owner.
  public func typing(seed: UInt64, device: Int, _ n: Int) -> Int64 {
    let span = Double(typingMs.upperBound - typingMs.lowerBound)
    return typingMs.lowerBound + Int64(Self.unit(seed, device, 16 + n) * span)
  }

  /// Uniform in [0, 1) from (seed, device, draw).
  static func unit(_ seed: UInt64, _ device: Int, _ draw: Int) -> Double {
    var z = seed &+ UInt64(device) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(draw) &* 0xD1B5_4A32_D192_ED03
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Double(z >> 11) * 0x1p-53
  }

  /// Lognormal from two uniform draws (Box-Muller), at least one second.
  static func lognormal(median: Double, sigma: Double, _ seed: UInt64, _ device: Int, _ draw: Int) -> Int64 {
    let u1 = max(unit(seed, device, draw), 0x1p-53)
    let u2 = unit(seed, device, draw + 8)
    let normal = sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    let value = median * exp(sigma * normal)
    return Int64(min(max(value, 1_000), 1e15))
  }
}
