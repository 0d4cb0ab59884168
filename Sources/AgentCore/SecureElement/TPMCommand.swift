/// TPM 2.0 command codes, tags, handles and algorithms the NV counter and
/// the identity key use (TPM 2.0 Part 2: 6.3 TPM_ALG, 6.4 TPM_ECC, 6.5
/// TPM_CC, 6.9 TPM_ST, 7.4 TPM_RH/TPM_RS).
public enum TPMConstant {
  public static let tagNoSessions: UInt16 = 0x8001
  public static let tagSessions: UInt16 = 0x8002

  public static let ccNVUndefineSpace: UInt32 = 0x0000_0122
  public static let ccNVDefineSpace: UInt32 = 0x0000_012A
  public static let ccNVIncrement: UInt32 = 0x0000_0134
  public static let ccNVRead: UInt32 = 0x0000_014E
  public static let ccNVReadPublic: UInt32 = 0x0000_0169
  public static let ccEvictControl: UInt32 = 0x0000_0120
  public static let ccCreatePrimary: UInt32 = 0x0000_0131
  public static let ccFlushContext: UInt32 = 0x0000_0165
  public static let ccReadPublic: UInt32 = 0x0000_0173

  /// The owner (storage) hierarchy: NV indices it defines live in 0x01800000-0x01BFFFFF.
  public static let rhOwner: UInt32 = 0x4000_0001
  /// The password "session": authorization is the cleartext authValue (empty here).
  public static let rsPassword: UInt32 = 0x4000_0009

  public static let algSHA256: UInt16 = 0x000B
  public static let algNull: UInt16 = 0x0010
  public static let algECDSA: UInt16 = 0x0018
  public static let algECC: UInt16 = 0x0023
  public static let eccNISTP256: UInt16 = 0x0003

  /// Commands and responses are at most this long on every TPM we target
  /// (TPM_PT_MAX_COMMAND_SIZE / MAX_RESPONSE_SIZE are 4,096 on fTPMs,
  /// discrete TPMs and swtpm); anything longer is refused unread.
  public static let maxResponseBytes = 4096
}

/// Builds the byte strings of the few commands the agent sends. Big-endian
/// throughout (TPM 2.0 Part 1, 18.2); sizes are computed, never hand-counted.
public enum TPMCommand {
  /// TPM2_NV_DefineSpace under the owner hierarchy (empty owner auth) with an
  /// empty index authValue and no policy.
  public static func defineSpace(index: UInt32, attributes: UInt32, dataSize: UInt16) -> [UInt8] {
    var publicArea = TPMWriter()
    publicArea.u32(index)
    publicArea.u16(TPMConstant.algSHA256)
    publicArea.u32(attributes)
    publicArea.u16(0)  // authPolicy: empty
    publicArea.u16(dataSize)
    var parameters = TPMWriter()
    parameters.u16(0)  // auth (the index's authValue): empty
    parameters.u16(UInt16(publicArea.bytes.count))
    parameters.append(publicArea.bytes)
    return withPasswordSession(
      TPMConstant.ccNVDefineSpace, handles: [TPMConstant.rhOwner], sessions: 1, parameters: parameters.bytes)
  }

  /// TPM2_NV_UndefineSpace by the owner: only tests use it (to show that a
  /// redefined counter does not start below the old one).
  public static func undefineSpace(index: UInt32) -> [UInt8] {
    withPasswordSession(
      TPMConstant.ccNVUndefineSpace, handles: [TPMConstant.rhOwner, index], sessions: 1, parameters: [])
  }

  /// TPM2_NV_Increment authorized by the index itself (TPMA_NV_AUTHWRITE).
  public static func increment(index: UInt32) -> [UInt8] {
    withPasswordSession(TPMConstant.ccNVIncrement, handles: [index, index], sessions: 1, parameters: [])
  }

  /// TPM2_NV_Read of `size` bytes at `offset`, authorized by the index (TPMA_NV_AUTHREAD).
  public static func read(index: UInt32, size: UInt16, offset: UInt16) -> [UInt8] {
    var parameters = TPMWriter()
    parameters.u16(size)
    parameters.u16(offset)
    return withPasswordSession(
      TPMConstant.ccNVRead, handles: [index, index], sessions: 1, parameters: parameters.bytes)
  }

  /// TPM2_NV_ReadPublic: needs no authorization.
  public static func readPublic(index: UInt32) -> [UInt8] {
    var body = TPMWriter()
    body.u32(index)
    return frame(TPMConstant.tagNoSessions, TPMConstant.ccNVReadPublic, body.bytes)
  }

  /// TPM2_CreatePrimary under the owner hierarchy (empty owner auth): an
  /// ECC P-256 signing key whose private half the TPM derives from the
  /// hierarchy's seed and `unique` (random, so each call makes a new key),
  /// with `authValue` as its password. No outsideInfo, no PCR selection.
  public static func createPrimaryECC(attributes: UInt32, authValue: [UInt8], unique: [UInt8]) -> [UInt8] {
    var sensitive = TPMWriter()
    sensitive.u16(UInt16(authValue.count))  // userAuth
    sensitive.append(authValue)
    sensitive.u16(0)  // data: the TPM makes the key itself
    var publicArea = TPMWriter()
    publicArea.u16(TPMConstant.algECC)
    publicArea.u16(TPMConstant.algSHA256)
    publicArea.u32(attributes)
    publicArea.u16(0)  // authPolicy: empty, so only the authValue authorizes use
    publicArea.u16(TPMConstant.algNull)  // symmetric: none (a signing key, not a parent)
    publicArea.u16(TPMConstant.algECDSA)  // scheme: ECDSA with SHA-256 only (ES256)
    publicArea.u16(TPMConstant.algSHA256)
    publicArea.u16(TPMConstant.eccNISTP256)
    publicArea.u16(TPMConstant.algNull)  // kdf: none
    publicArea.u16(UInt16(unique.count))  // unique.x: the entropy that makes the key new
    publicArea.append(unique)
    publicArea.u16(0)  // unique.y
    var parameters = TPMWriter()
    parameters.u16(UInt16(sensitive.bytes.count))
    parameters.append(sensitive.bytes)
    parameters.u16(UInt16(publicArea.bytes.count))
    parameters.append(publicArea.bytes)
    parameters.u16(0)  // outsideInfo
    parameters.u32(0)  // creationPCR: no banks
    return withPasswordSession(
      TPMConstant.ccCreatePrimary, handles: [TPMConstant.rhOwner], sessions: 1, parameters: parameters.bytes)
  }

  /// TPM2_EvictControl by the owner: makes transient `object` persistent at
  /// `persistent`, or, when `object` is that persistent handle, evicts it.
  public static func evictControl(object: UInt32, persistent: UInt32) -> [UInt8] {
    var parameters = TPMWriter()
    parameters.u32(persistent)
    return withPasswordSession(
      TPMConstant.ccEvictControl, handles: [TPMConstant.rhOwner, object], sessions: 1,
      parameters: parameters.bytes)
  }

  /// TPM2_FlushContext: the handle is a parameter, and it needs no authorization.
  public static func flushContext(_ handle: UInt32) -> [UInt8] {
    var body = TPMWriter()
    body.u32(handle)
    return frame(TPMConstant.tagNoSessions, TPMConstant.ccFlushContext, body.bytes)
  }

  /// TPM2_ReadPublic of a loaded or persistent object: needs no authorization.
  public static func readPublic(object: UInt32) -> [UInt8] {
    var body = TPMWriter()
    body.u32(object)
    return frame(TPMConstant.tagNoSessions, TPMConstant.ccReadPublic, body.bytes)
  }

  /// Handles, then one empty-password authorization, then the parameters.
  /// `sessions` is always 1: each command here has one handle needing auth.
  private static func withPasswordSession(
    _ code: UInt32, handles: [UInt32], sessions: Int, parameters: [UInt8]
  ) -> [UInt8] {
    var body = TPMWriter()
    for handle in handles { body.u32(handle) }
    var authorization = TPMWriter()
    for _ in 0..<sessions {
      authorization.u32(TPMConstant.rsPassword)
      authorization.u16(0)  // nonceCaller: empty
      authorization.u8(0)  // sessionAttributes: a password session cannot continue
      authorization.u16(0)  // hmac = the password: empty
    }
    body.u32(UInt32(authorization.bytes.count))
    body.append(authorization.bytes)
    body.append(parameters)
    return frame(TPMConstant.tagSessions, code, body.bytes)
  }

  private static func frame(_ tag: UInt16, _ code: UInt32, _ body: [UInt8]) -> [UInt8] {
    var out = TPMWriter()
    out.u16(tag)
    out.u32(UInt32(10 + body.count))
    out.u32(code)
    out.append(body)
    return out.bytes
  }
}

/// Big-endian appends for command bodies.
struct TPMWriter {
  var bytes: [UInt8] = []

  mutating func u8(_ value: UInt8) { bytes.append(value) }
  mutating func u16(_ value: UInt16) {
    bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    bytes.append(UInt8(truncatingIfNeeded: value))
  }
  mutating func u32(_ value: UInt32) {
    for shift in stride(from: 24, through: 0, by: -8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
    }
  }
  mutating func append(_ more: [UInt8]) { bytes.append(contentsOf: more) }
}
