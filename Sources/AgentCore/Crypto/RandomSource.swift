import CAgentSys

/// Where randomness comes from: nonces, keys, jitter. Passed in, so a fleet
/// simulation or a test can use a seeded generator and a board uses OpenSSL.
public protocol RandomSource {
  mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError)
}

extension RandomSource {
  public mutating func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var failure: CryptoError? = nil
    out.withUnsafeMutableBytes { raw in
      do throws(CryptoError) { try fill(raw) } catch { failure = error }
    }
    if let failure { throw failure }
    return out
  }

  /// A uniformly distributed integer in 0..<bound (rejection sampling, no modulo bias).
  public mutating func uniform(below bound: UInt64) throws(CryptoError) -> UInt64 {
    precondition(bound > 0)
    let limit = UInt64.max - UInt64.max % bound
    while true {
      var value: UInt64 = 0
      for (index, byte) in try bytes(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
      if value < limit { return value % bound }
    }
  }
}

/// OpenSSL's CSPRNG (seeded from getrandom(2) by OpenSSL itself).
public struct SystemRandom: RandomSource {
  public init() {}

  public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    guard ca_rand_bytes(base.assumingMemoryBound(to: UInt8.self), buffer.count) == 1 else {
      throw CryptoError.fromQueue("RAND_bytes")
    }
  }
}
