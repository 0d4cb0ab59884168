/// Parses TPM 2.0 responses. The bytes come from a device node or a socket
/// and are untrusted: every length is checked against what is left, every
/// structure must be consumed exactly, and any failure is a typed error.
public enum TPMResponse {
  /// The parameter area of a successful response to `command`.
  ///
  /// `sessions`: the command carried one password session, so a success
  /// must carry the session tag, a parameterSize and one auth response.
  public static func parameters(_ bytes: [UInt8], command: UInt32, sessions: Bool) throws(TPMError) -> [UInt8]
  {
    try parameters(bytes, command: command, sessions: sessions, handles: 0).parameters
  }

  /// The response handles (`handles` of them, e.g. TPM2_CreatePrimary's
  /// objectHandle, which precede parameterSize) and the parameter area.
  public static func parameters(
    _ bytes: [UInt8], command: UInt32, sessions: Bool, handles handleCount: Int
  ) throws(TPMError) -> (handles: [UInt32], parameters: [UInt8]) {
    var reader = TPMReader(bytes, command: command)
    guard bytes.count >= 10 else { throw reader.fail("\(bytes.count) bytes, shorter than a response header") }
    guard bytes.count <= TPMConstant.maxResponseBytes else {
      throw reader.fail("\(bytes.count) bytes, too long")
    }
    let tag = try reader.u16()
    let size = try reader.u32()
    let rc = try reader.u32()
    guard size == UInt32(bytes.count) else {
      throw reader.fail("size field \(size), \(bytes.count) bytes received")
    }
    guard tag == TPMConstant.tagNoSessions || tag == TPMConstant.tagSessions else {
      throw reader.fail("tag 0x\(TPMError.hex(UInt32(tag)))")
    }
    guard rc == TPMResponseCode.success else {
      // An error response carries nothing else (Part 1, 18.9).
      guard tag == TPMConstant.tagNoSessions, size == 10 else {
        throw reader.fail("error rc 0x\(TPMError.hex(rc)) with a session tag or a body")
      }
      throw .responseCode(command: command, rc: rc)
    }
    var handles: [UInt32] = []
    for _ in 0..<handleCount { handles.append(try reader.u32()) }
    guard sessions else {
      guard tag == TPMConstant.tagNoSessions else {
        throw reader.fail("session tag on a sessionless command")
      }
      return (handles, try reader.rest())
    }
    guard tag == TPMConstant.tagSessions else { throw reader.fail("no session area in the response") }
    let parameterSize = try reader.u32()
    guard parameterSize <= UInt32(reader.remaining) else {
      throw reader.fail("parameterSize \(parameterSize), \(reader.remaining) bytes left")
    }
    let parameters = try reader.take(Int(parameterSize))
    // One TPMS_AUTH_RESPONSE for the one password session: for a password
    // session nonceTPM and hmac are empty (Part 1, 19.6.13); anything else
    // means the response is not for the command we sent.
    let nonceSize = try reader.u16()
    _ = try reader.u8()  // sessionAttributes: continueSession is echoed, nothing to check
    let hmacSize = try reader.u16()
    guard nonceSize == 0, hmacSize == 0 else { throw reader.fail("password session with a nonce or hmac") }
    try reader.end()
    return (handles, parameters)
  }
}

/// The public area of an NV index as TPM2_NV_ReadPublic returns it.
public struct TPMNVPublic: Equatable {
  public let index: UInt32
  public let nameAlg: UInt16
  public let attributes: UInt32
  public let authPolicy: [UInt8]
  public let dataSize: UInt16
  /// TPM2B_NAME: nameAlg then the digest of the public area.
  public let name: [UInt8]

  /// Parses the parameters of a successful TPM2_NV_ReadPublic response.
  public static func parse(_ parameters: [UInt8]) throws(TPMError) -> TPMNVPublic {
    var outer = TPMReader(parameters, command: TPMConstant.ccNVReadPublic)
    let publicSize = try outer.u16()
    var reader = TPMReader(try outer.take(Int(publicSize)), command: TPMConstant.ccNVReadPublic)
    let index = try reader.u32()
    let nameAlg = try reader.u16()
    let attributes = try reader.u32()
    let policySize = try reader.u16()
    // TPM2B_DIGEST: at most the largest digest (SHA-512, 64 bytes).
    guard policySize <= 64 else { throw reader.fail("authPolicy of \(policySize) bytes") }
    let authPolicy = try reader.take(Int(policySize))
    let dataSize = try reader.u16()
    try reader.end()
    let nameSize = try outer.u16()
    guard nameSize <= 2 + 64 else { throw outer.fail("name of \(nameSize) bytes") }
    let name = try outer.take(Int(nameSize))
    try outer.end()
    return TPMNVPublic(
      index: index, nameAlg: nameAlg, attributes: attributes, authPolicy: authPolicy, dataSize: dataSize,
      name: name)
  }
}

/// A bounded big-endian cursor over response bytes. Reading past the end is
/// an error carrying the command it was for, never an out-of-range trap.
struct TPMReader {
  private let bytes: [UInt8]
  private var offset = 0
  let command: UInt32

  init(_ bytes: [UInt8], command: UInt32) {
    self.bytes = bytes
    self.command = command
  }

  var remaining: Int { bytes.count - offset }

  func fail(_ reason: String) -> TPMError { .malformedResponse(command: command, reason: reason) }

  mutating func take(_ count: Int) throws(TPMError) -> [UInt8] {
    guard count >= 0, count <= remaining else {
      throw fail("truncated: \(count) bytes wanted at offset \(offset), \(remaining) left")
    }
    let out = Array(bytes[offset..<(offset + count)])
    offset += count
    return out
  }

  mutating func u8() throws(TPMError) -> UInt8 { try take(1)[0] }

  mutating func u16() throws(TPMError) -> UInt16 {
    let b = try take(2)
    return UInt16(b[0]) << 8 | UInt16(b[1])
  }

  mutating func u32() throws(TPMError) -> UInt32 {
    let b = try take(4)
    return UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
  }

  mutating func u64() throws(TPMError) -> UInt64 {
    let high = try u32()
    let low = try u32()
    return UInt64(high) << 32 | UInt64(low)
  }

  mutating func rest() throws(TPMError) -> [UInt8] { try take(remaining) }

  /// Trailing bytes mean the structure was not what we think it is.
  func end() throws(TPMError) {
    guard remaining == 0 else { throw fail("\(remaining) trailing bytes") }
  }
}
