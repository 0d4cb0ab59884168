/// What the vault holds (SPEC "Credential vault"). Secrets are `SecretBytes`;
/// the rest is metadata the agent may show (`status`) but never sends.
public struct VaultContents {
  public var deviceID: String
  /// RFC 5915 DER of the identity key made at the factory (a software key).
  public var identityKey: SecretBytes?
  /// A `KeyReference` (serialized) to an identity key inside a secure element
  /// (`IdentityKeyStorage.tpm2`), instead of `identityKey`: a TPM's wrapped
  /// blob, useless without that TPM, but the identity's only handle, so it is
  /// kept and destroyed like a secret.
  public var identityKeyReference: SecretBytes?
  /// RFC 5915 DER of the DPoP session key made at the latest activation.
  public var dpopKey: SecretBytes?
  public var accessToken: SecretBytes?
  /// Seconds since the epoch, server-corrected.
  public var accessTokenExpiry: Int64?
  public var refreshToken: SecretBytes?
  /// Seconds since the epoch of the latest successful (re-)activation.
  public var lastActivation: Int64?
  public var provisionedAt: Int64?
  /// Seconds since the epoch: the latest time the agent saw confirmed
  /// (`TimeFloor`), written only with commits that happen anyway.
  public var timeFloor: Int64?
  /// The issuer (`server`) the session's tokens were issued by: they go to
  /// no other server (`SessionBinding`). Recorded with the tokens.
  public var sessionIssuer: String?
  /// The report API (`api_base`) the session's access token is sent to.
  public var sessionAPIBase: String?
  /// The anti-rollback counter value this record was written with
  /// (`RollbackRule`); set by `Vault.commit` on a board with a counter,
  /// whatever the caller put here.
  public var rollbackCounter: UInt64?

  public init(deviceID: String) { self.deviceID = deviceID }

  /// True when the record holds an identity, in software or in an element.
  public var hasIdentity: Bool { identityKey != nil || identityKeyReference != nil }

  /// Field tags of the encoding. Never renumber: records on flash use them.
  enum Tag: UInt8 {
    case deviceID = 1
    case identityKey = 2
    case dpopKey = 3
    case accessToken = 4
    case accessTokenExpiry = 5
    case refreshToken = 6
    case lastActivation = 7
    case provisionedAt = 8
    case timeFloor = 9
    case sessionIssuer = 10
    case sessionAPIBase = 11
    case rollbackCounter = 12
    case identityKeyReference = 13
  }

  /// Longest issuer or API base URL a record holds (as `EndpointURL`).
  static let maxURLLength = EndpointURL.maxLength

  /// Type-length-value: tag (1 byte), length (2 bytes, little-endian), value.
  /// The buffer is sized up front so no reallocation leaves secret copies behind.
  func encoded() -> SecretBytes {
    var size = 3 + deviceID.utf8.count
    for secret in [identityKey, identityKeyReference, dpopKey, accessToken, refreshToken] {
      if let secret { size += 3 + secret.count }
    }
    size += 5 * 11
    for text in [sessionIssuer, sessionAPIBase] {
      if let text { size += 3 + text.utf8.count }
    }
    var out: [UInt8] = []
    out.reserveCapacity(size)
    func field(_ tag: Tag, _ value: UnsafeRawBufferPointer) {
      out.append(tag.rawValue)
      out.append(UInt8(value.count & 0xff))
      out.append(UInt8(value.count >> 8))
      out.append(contentsOf: value)
    }
    func integer(_ tag: Tag, _ value: Int64?) {
      guard let value else { return }
      withUnsafeBytes(of: value.littleEndian) { field(tag, $0) }
    }
    func secret(_ tag: Tag, _ value: SecretBytes?) {
      value?.withUnsafeBytes { field(tag, $0) }
    }
    Array(deviceID.utf8).withUnsafeBytes { field(.deviceID, $0) }
    secret(.identityKey, identityKey)
    secret(.dpopKey, dpopKey)
    secret(.accessToken, accessToken)
    integer(.accessTokenExpiry, accessTokenExpiry)
    secret(.refreshToken, refreshToken)
    integer(.lastActivation, lastActivation)
    integer(.provisionedAt, provisionedAt)
    integer(.timeFloor, timeFloor)
    if let sessionIssuer { Array(sessionIssuer.utf8).withUnsafeBytes { field(.sessionIssuer, $0) } }
    if let sessionAPIBase { Array(sessionAPIBase.utf8).withUnsafeBytes { field(.sessionAPIBase, $0) } }
    if let rollbackCounter {
      withUnsafeBytes(of: rollbackCounter.littleEndian) { field(.rollbackCounter, $0) }
    }
    // Fields go out in ascending tag order, the canonical form (the fuzz
    // property checks that a canonical record re-encodes to its own bytes;
    // tag 13 written after tag 2 broke it). Decoding takes any order.
    secret(.identityKeyReference, identityKeyReference)
    return SecretBytes(out)
  }

  /// The plaintext a commit would seal, for the benchmark's like-for-like
  /// comparison with bare EVP calls.
  public func encodedForBenchmark() -> [UInt8] { encoded().revealCopy() }

  static func decode(_ plaintext: SecretBytes) throws(VaultError) -> VaultContents {
    var result: Result<VaultContents, VaultError> = .failure(.malformedContents("empty"))
    plaintext.withUnsafeBytes { raw in
      result = decodeFields(raw)
    }
    return try result.get()
  }

  private static func decodeFields(_ raw: UnsafeRawBufferPointer) -> Result<VaultContents, VaultError> {
    var contents = VaultContents(deviceID: "")
    var seen: [UInt8] = []
    var index = 0
    while index < raw.count {
      guard index + 3 <= raw.count else { return .failure(.malformedContents("truncated field header")) }
      let tagByte = raw[index]
      let length = Int(raw[index + 1]) | Int(raw[index + 2]) << 8
      index += 3
      guard index + length <= raw.count else {
        return .failure(.malformedContents("truncated field \(tagByte)"))
      }
      guard !seen.contains(tagByte) else { return .failure(.malformedContents("field \(tagByte) repeated")) }
      seen.append(tagByte)
      let value = UnsafeRawBufferPointer(rebasing: raw[index..<index + length])
      index += length
      guard let tag = Tag(rawValue: tagByte) else {
        return .failure(.malformedContents("unknown field \(tagByte) (written by newer firmware?)"))
      }
      switch tag {
      case .deviceID:
        guard let id = String(validating: Array(value), as: UTF8.self), DeviceID.isValid(id) else {
          return .failure(.malformedContents("device id"))
        }
        contents.deviceID = id
      case .sessionIssuer, .sessionAPIBase:
        guard length <= maxURLLength, let text = String(validating: Array(value), as: UTF8.self),
          isPrintableASCII(value)
        else { return .failure(.malformedContents("field \(tagByte) is not a URL")) }
        if tag == .sessionIssuer { contents.sessionIssuer = text } else { contents.sessionAPIBase = text }
      case .identityKey: contents.identityKey = SecretBytes(Array(value))
      case .identityKeyReference:
        // Parsed whole when the key is loaded (KeyReference(serialized:));
        // here only its bounds, so a record is never half-read.
        guard (4...(KeyReference.maximumLength + 70)).contains(length) else {
          return .failure(.malformedContents("field \(tagByte) length \(length)"))
        }
        contents.identityKeyReference = SecretBytes(Array(value))
      case .dpopKey: contents.dpopKey = SecretBytes(Array(value))
      case .accessToken: contents.accessToken = SecretBytes(Array(value))
      case .refreshToken: contents.refreshToken = SecretBytes(Array(value))
      case .rollbackCounter:
        guard length == 8 else { return .failure(.malformedContents("field \(tagByte) length \(length)")) }
        var number: UInt64 = 0
        for offset in 0..<8 { number |= UInt64(value[offset]) << (8 * UInt64(offset)) }
        contents.rollbackCounter = number
      case .accessTokenExpiry, .lastActivation, .provisionedAt, .timeFloor:
        guard length == 8 else { return .failure(.malformedContents("field \(tagByte) length \(length)")) }
        var number: Int64 = 0
        for offset in 0..<8 { number |= Int64(value[offset]) << (8 * Int64(offset)) }
        switch tag {
        case .accessTokenExpiry: contents.accessTokenExpiry = number
        case .lastActivation: contents.lastActivation = number
        case .timeFloor: contents.timeFloor = number
        default: contents.provisionedAt = number
        }
      }
    }
    guard !contents.deviceID.isEmpty else { return .failure(.malformedContents("no device id")) }
    // One identity: which key signs must never depend on which field a reader looks at.
    guard contents.identityKey == nil || contents.identityKeyReference == nil else {
      return .failure(.malformedContents("two identity keys"))
    }
    return .success(contents)
  }

  private static func isPrintableASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
    for byte in bytes where byte < 0x21 || byte > 0x7e { return false }
    return !bytes.isEmpty
  }
}
