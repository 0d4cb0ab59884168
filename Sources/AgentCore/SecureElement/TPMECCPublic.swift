/// The public area (TPMT_PUBLIC, TPM 2.0 Part 2, 12.2.4) of an ECC key, as
/// TPM2_CreatePrimary and TPM2_ReadPublic return it inside a TPM2B_PUBLIC.
/// Every field the identity key's template sets is kept, so a caller can
/// tell the agent's own key from anything else at a handle.
public struct TPMECCPublic: Equatable {
  public let nameAlg: UInt16
  public let attributes: UInt32
  public let authPolicy: [UInt8]
  public let symmetric: UInt16
  public let scheme: UInt16
  /// The scheme's hash (TPM_ALG_NULL when the scheme is NULL).
  public let schemeHash: UInt16
  public let curve: UInt16
  public let kdf: UInt16
  public let x: [UInt8]
  public let y: [UInt8]

  /// Parses one TPM2B_PUBLIC at the reader's position. A key of another
  /// type is `.malformedResponse` with the type named (the agent only looks
  /// for ECC keys at its handles).
  static func parse(_ outer: inout TPMReader) throws(TPMError) -> TPMECCPublic {
    let size = try outer.u16()
    var reader = TPMReader(try outer.take(Int(size)), command: outer.command)
    let type = try reader.u16()
    guard type == TPMConstant.algECC else {
      throw reader.fail("public area of type 0x\(TPMError.hex(UInt32(type)))")
    }
    let nameAlg = try reader.u16()
    let attributes = try reader.u32()
    let policySize = try reader.u16()
    guard policySize <= 64 else { throw reader.fail("authPolicy of \(policySize) bytes") }
    let authPolicy = try reader.take(Int(policySize))
    // TPMT_SYM_DEF_OBJECT: keyBits and mode follow only a real algorithm.
    let symmetric = try reader.u16()
    if symmetric != TPMConstant.algNull { _ = try reader.take(4) }
    let scheme = try reader.u16()
    let schemeHash = scheme == TPMConstant.algNull ? TPMConstant.algNull : try reader.u16()
    let curve = try reader.u16()
    let kdf = try reader.u16()
    if kdf != TPMConstant.algNull { _ = try reader.u16() }
    let xSize = try reader.u16()
    guard xSize <= 66 else { throw reader.fail("unique.x of \(xSize) bytes") }
    let x = try reader.take(Int(xSize))
    let ySize = try reader.u16()
    guard ySize <= 66 else { throw reader.fail("unique.y of \(ySize) bytes") }
    let y = try reader.take(Int(ySize))
    try reader.end()
    return TPMECCPublic(
      nameAlg: nameAlg, attributes: attributes, authPolicy: authPolicy, symmetric: symmetric, scheme: scheme,
      schemeHash: schemeHash, curve: curve, kdf: kdf, x: x, y: y)
  }

  /// TPM2_ReadPublic's parameters: outPublic, name, qualifiedName.
  public static func parseReadPublic(_ parameters: [UInt8]) throws(TPMError) -> TPMECCPublic {
    var reader = TPMReader(parameters, command: TPMConstant.ccReadPublic)
    let found = try parse(&reader)
    for _ in 0..<2 {
      let nameSize = try reader.u16()
      guard nameSize <= 2 + 64 else { throw reader.fail("name of \(nameSize) bytes") }
      _ = try reader.take(Int(nameSize))
    }
    try reader.end()
    return found
  }

  /// TPM2_CreatePrimary's parameters: outPublic first; creationData,
  /// creationHash, creationTicket and name follow and are not needed.
  public static func parseCreatePrimary(_ parameters: [UInt8]) throws(TPMError) -> TPMECCPublic {
    var reader = TPMReader(parameters, command: TPMConstant.ccCreatePrimary)
    return try parse(&reader)
  }
}
