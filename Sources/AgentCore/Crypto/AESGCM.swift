import CAgentSys

/// AES-256-GCM with a 96-bit nonce and a 128-bit tag.
public enum AESGCM {
  public static let keySize = 32
  public static let nonceSize = 12
  public static let tagSize = 16

  public struct Sealed: Equatable {
    public var ciphertext: [UInt8]
    public var tag: [UInt8]

    public init(ciphertext: [UInt8], tag: [UInt8]) {
      self.ciphertext = ciphertext
      self.tag = tag
    }
  }

  public static func seal(
    _ plaintext: SecretBytes, key: SecretBytes, nonce: [UInt8], aad: [UInt8]
  ) throws(CryptoError) -> Sealed {
    try checkSizes(key: key, nonce: nonce)
    var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
    var tag = [UInt8](repeating: 0, count: tagSize)
    let ok = key.withUnsafeBytes { k in
      plaintext.withUnsafeBytes { pt in
        nonce.withUnsafeBufferPointer { iv in
          aad.withUnsafeBufferPointer { aad in
            ciphertext.withUnsafeMutableBufferPointer { ct in
              ca_aes256gcm_seal(
                k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                iv.baseAddress, iv.count, aad.baseAddress, aad.count,
                pt.baseAddress?.assumingMemoryBound(to: UInt8.self), pt.count,
                ct.baseAddress, &tag)
            }
          }
        }
      }
    }
    guard ok == 1 else { throw CryptoError.fromQueue("AES-256-GCM seal") }
    return Sealed(ciphertext: ciphertext, tag: tag)
  }

  /// Decrypts and authenticates; throws `.authenticationFailed` for any modification.
  public static func open(
    _ sealed: Sealed, key: SecretBytes, nonce: [UInt8], aad: [UInt8]
  ) throws(CryptoError) -> SecretBytes {
    try checkSizes(key: key, nonce: nonce)
    guard sealed.tag.count == tagSize else { throw .invalidInput("GCM tag length \(sealed.tag.count)") }
    let plaintext = SecretBytes(zeroes: sealed.ciphertext.count)
    let result = key.withUnsafeBytes { k in
      plaintext.withUnsafeMutableBytes { pt in
        nonce.withUnsafeBufferPointer { iv in
          aad.withUnsafeBufferPointer { aad in
            sealed.ciphertext.withUnsafeBufferPointer { ct in
              ca_aes256gcm_open(
                k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                iv.baseAddress, iv.count, aad.baseAddress, aad.count,
                ct.baseAddress, ct.count, sealed.tag,
                pt.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
          }
        }
      }
    }
    switch result {
    case 1: return plaintext
    case 0:
      ca_err_clear()
      throw .authenticationFailed
    default: throw CryptoError.fromQueue("AES-256-GCM open")
    }
  }

  private static func checkSizes(key: SecretBytes, nonce: [UInt8]) throws(CryptoError) {
    guard key.count == keySize else { throw .invalidInput("AES-256 key length \(key.count)") }
    guard nonce.count == nonceSize else { throw .invalidInput("GCM nonce length \(nonce.count)") }
  }
}
