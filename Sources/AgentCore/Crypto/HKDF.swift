import CAgentSys

/// HKDF-SHA256 (RFC 5869).
public enum HKDF {
  public static func deriveSHA256(
    inputKeyMaterial ikm: SecretBytes, salt: [UInt8], info: [UInt8], outputLength: Int
  ) throws(CryptoError) -> SecretBytes {
    guard outputLength > 0, outputLength <= 255 * 32 else {
      throw .invalidInput("HKDF output length \(outputLength)")
    }
    let out = SecretBytes(zeroes: outputLength)
    let ok = ikm.withUnsafeBytes { key in
      out.withUnsafeMutableBytes { output in
        salt.withUnsafeBufferPointer { salt in
          info.withUnsafeBufferPointer { info in
            ca_hkdf_sha256(
              salt.baseAddress, salt.count,
              key.baseAddress?.assumingMemoryBound(to: UInt8.self), key.count,
              info.baseAddress, info.count,
              output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count)
          }
        }
      }
    }
    guard ok == 1 else { throw CryptoError.fromQueue("HKDF-SHA256") }
    return out
  }
}
