import CAgentSys

/// A P-256 private key held by OpenSSL. Used for the device identity key
/// (RFC 7523 client assertions) and the DPoP session key (RFC 9449).
///
/// The private half is either in this process (a software key, the default)
/// or inside a secure element reached through an OpenSSL provider (see
/// ProviderKey.swift); signing and the public half work the same for both,
/// only export differs.
public final class P256PrivateKey {
  let handle: OpaquePointer
  /// The element holding the private half, nil for a software key. Held so
  /// that the element's library context and provider outlive the key.
  let element: KeyElement?
  /// The public half, derived once: every DPoP proof and client assertion
  /// carries it (as the JWK or its thumbprint), and deriving it through
  /// OpenSSL's parameter export cost more than the ECDSA signature itself
  /// (40% of the swarm's instructions, against 28% for signing).
  private var cachedPublicKey: P256PublicKey?

  private init(handle: OpaquePointer) {
    self.handle = handle
    self.element = nil
  }

  /// A key whose EVP_PKEY was made or loaded by `element`'s provider.
  init(elementHandle handle: OpaquePointer, element: KeyElement) {
    self.handle = handle
    self.element = element
  }

  /// True when the private half lives in a secure element.
  public var isInElement: Bool { element != nil }

  deinit { ca_pkey_free(handle) }

  public static func generate() throws(CryptoError) -> P256PrivateKey {
    guard let key = ca_p256_generate() else { throw CryptoError.fromQueue("P-256 key generation") }
    return P256PrivateKey(handle: key)
  }

  /// Loads an RFC 5915 ECPrivateKey DER blob (as written by `derRepresentation()`).
  /// The blob comes from the vault or the factory, so it is checked whole: a
  /// P-256 key, nothing after it, and a public point that belongs to the
  /// private scalar (EVP_PKEY_check and EVP_PKEY_pairwise_check), since a
  /// mismatched pair signs assertions the cloud can never verify.
  public static func fromDER(_ der: SecretBytes) throws(CryptoError) -> P256PrivateKey {
    let key = der.withUnsafeBytes { raw in
      ca_p256_from_private_der(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count)
    }
    guard let key else {
      ca_err_clear()
      throw .invalidInput("not a P-256 private key with its own public point")
    }
    return P256PrivateKey(handle: key)
  }

  /// The private key as DER, in zeroing storage. A key in a secure element
  /// throws `.notExportable`: its reference is `KeyReference`, not this.
  public func derRepresentation() throws(CryptoError) -> SecretBytes {
    guard element == nil else { throw .notExportable }
    let buffer = SecretBytes(zeroes: 256)
    let length = buffer.withUnsafeMutableBytes { raw in
      ca_p256_private_der(handle, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), raw.count)
    }
    guard length > 0 else { throw CryptoError.fromQueue("P-256 private key export") }
    let out = buffer.withUnsafeBytes { raw in SecretBytes(Array(raw[0..<length])) }
    return out
  }

  public func publicKey() throws(CryptoError) -> P256PublicKey {
    if let cachedPublicKey { return cachedPublicKey }
    var x = [UInt8](repeating: 0, count: 32)
    var y = [UInt8](repeating: 0, count: 32)
    guard ca_p256_public_xy(handle, &x, &y) == 1 else {
      throw CryptoError.fromQueue("P-256 public key export")
    }
    let key = try P256PublicKey(x: x, y: y)
    cachedPublicKey = key
    return key
  }

  /// ES256: ECDSA P-256 over SHA-256(message), raw r||s (64 bytes).
  public func signES256(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
    var signature = [UInt8](repeating: 0, count: 64)
    let ok = message.withUnsafeBufferPointer { msg in
      if let element {
        return ca_pkey_sign_es256_in(element.context, handle, msg.baseAddress, msg.count, &signature)
      }
      return ca_p256_sign_raw(handle, msg.baseAddress, msg.count, &signature)
    }
    guard ok == 1 else { throw CryptoError.fromQueue("ES256 sign") }
    return signature
  }
}

/// A P-256 public key as its affine coordinates (the JWK `x` and `y`).
public final class P256PublicKey {
  public let x: [UInt8]
  public let y: [UInt8]
  private let handle: OpaquePointer

  /// Fails for coordinates that are not a point on the curve.
  public init(x: [UInt8], y: [UInt8]) throws(CryptoError) {
    guard x.count == 32, y.count == 32 else { throw .invalidInput("P-256 coordinate length") }
    guard let key = ca_p256_from_public_xy(x, y) else {
      ca_err_clear()
      throw .invalidInput("not a point on P-256")
    }
    self.x = x
    self.y = y
    self.handle = key
  }

  deinit { ca_pkey_free(handle) }

  public func verifyES256(signature: [UInt8], message: [UInt8]) throws(CryptoError) {
    guard signature.count == 64 else { throw .invalidSignature }
    let result = message.withUnsafeBufferPointer { msg in
      ca_p256_verify_raw(handle, msg.baseAddress, msg.count, signature)
    }
    switch result {
    case 1: return
    case 0: throw .invalidSignature
    default: throw .openssl("ES256 verify")
    }
  }
}
