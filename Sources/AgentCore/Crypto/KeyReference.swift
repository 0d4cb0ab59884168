/// What the vault holds for a key whose private half lives in a secure
/// element: enough to find the key again, nothing that signs on its own.
///
/// - `wrapped`: the provider's private-key encoding (for tpm2, DER "TSS2
///   PRIVATE KEY": public area plus the private area encrypted under the
///   TPM's storage primary key). Only the TPM that made it can load it.
/// - `uri`: an OSSL_STORE URI of a key kept in the element itself (for tpm2,
///   "handle:0x81000001", a persistent handle made at the factory).
/// - `persistent`: a TPM key at a persistent handle that only `authValue`
///   authorizes (`TPMIdentityKey`); the authValue is a secret, which is why
///   the whole reference is kept like one in the vault.
public enum KeyReference: Equatable {
  case wrapped(provider: String, bytes: [UInt8])
  case uri(provider: String, uri: String)
  case persistent(provider: String, handle: UInt32, authValue: [UInt8])

  /// The largest reference accepted (a P-256 TSS2 blob is about 243 bytes).
  public static let maximumLength = 4096

  public var provider: String {
    switch self {
    case .wrapped(let provider, _): return provider
    case .uri(let provider, _): return provider
    case .persistent(let provider, _, _): return provider
    }
  }

  /// The OSSL_STORE URI tpm2-openssl loads a persistent key by; "?pass"
  /// makes it ask for the authValue (through the UI method the shim gives).
  public static func handleURI(_ handle: UInt32) -> String { "handle:0x\(TPMError.hex(handle))?pass" }

  /// A self-describing byte form for the vault: a kind byte (1 wrapped, 2 URI,
  /// 3 persistent: the handle's four bytes, big-endian, then the authValue),
  /// the provider name's length (one byte) and name, then the payload's length
  /// (two bytes, big-endian) and payload.
  public func serialized() -> [UInt8] {
    let kind: UInt8
    let payload: [UInt8]
    switch self {
    case .wrapped(_, let bytes):
      kind = 1
      payload = bytes
    case .uri(_, let uri):
      kind = 2
      payload = Array(uri.utf8)
    case .persistent(_, let handle, let authValue):
      kind = 3
      payload =
        [
          UInt8(truncatingIfNeeded: handle >> 24), UInt8(truncatingIfNeeded: handle >> 16),
          UInt8(truncatingIfNeeded: handle >> 8), UInt8(truncatingIfNeeded: handle),
        ] + authValue
    }
    let name = Array(provider.utf8)
    var out: [UInt8] = [kind, UInt8(truncatingIfNeeded: name.count)]
    out += name
    out += [UInt8(truncatingIfNeeded: payload.count >> 8), UInt8(truncatingIfNeeded: payload.count)]
    out += payload
    return out
  }

  /// Parses `serialized()`. The bytes come from the vault and are checked
  /// whole: known kind, lengths within bounds and exact, a printable provider
  /// name and URI.
  public init(serialized bytes: [UInt8]) throws(CryptoError) {
    guard bytes.count >= 4, bytes.count <= KeyReference.maximumLength + 70 else {
      throw .invalidInput("key reference length")
    }
    let kind = bytes[0]
    let nameLength = Int(bytes[1])
    guard nameLength >= 1, nameLength <= 64, bytes.count >= 2 + nameLength + 2 else {
      throw .invalidInput("key reference provider name")
    }
    let name = Array(bytes[2..<(2 + nameLength)])
    guard KeyReference.isPrintable(name) else { throw .invalidInput("key reference provider name") }
    let lengthAt = 2 + nameLength
    let payloadLength = Int(bytes[lengthAt]) << 8 | Int(bytes[lengthAt + 1])
    let payload = Array(bytes[(lengthAt + 2)...])
    guard payload.count == payloadLength, payloadLength >= 1,
      payloadLength <= KeyReference.maximumLength
    else { throw .invalidInput("key reference payload length") }
    let provider = String(decoding: name, as: UTF8.self)
    switch kind {
    case 1:
      self = .wrapped(provider: provider, bytes: payload)
    case 2:
      guard payloadLength <= 1024, KeyReference.isPrintable(payload) else {
        throw .invalidInput("key reference URI")
      }
      self = .uri(provider: provider, uri: String(decoding: payload, as: UTF8.self))
    case 3:
      // The authValue reaches the provider as a C string: printable, and no
      // longer than a SHA-256 nameAlg allows (TPM 2.0 Part 1, 19.6.4).
      guard payloadLength >= 5, payloadLength <= 4 + 32 else { throw .invalidInput("key reference handle") }
      let handle =
        UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])
      let authValue = Array(payload[4...])
      guard handle >> 24 == 0x81, KeyReference.isPrintable(authValue) else {
        throw .invalidInput("key reference handle")
      }
      self = .persistent(provider: provider, handle: handle, authValue: authValue)
    default:
      throw .invalidInput("key reference kind")
    }
  }

  private static func isPrintable(_ bytes: [UInt8]) -> Bool {
    for byte in bytes where byte < 0x21 || byte > 0x7e { return false }
    return true
  }
}
