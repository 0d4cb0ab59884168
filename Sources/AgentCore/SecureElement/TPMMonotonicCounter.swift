/// TPMA_NV bits (TPM 2.0 Part 2, 13.4) the counter's definition uses or checks.
public enum TPMNVAttribute {
  public static let authWrite: UInt32 = 1 << 2
  /// TPM_NT in bits 4-7; TPM_NT_COUNTER is 1.
  public static let typeMask: UInt32 = 0xF << 4
  public static let typeCounter: UInt32 = 1 << 4
  public static let authRead: UInt32 = 1 << 18
  public static let noDA: UInt32 = 1 << 25
  /// Set by the TPM after the first write (for a counter: the first increment).
  public static let written: UInt32 = 1 << 29
}

/// The vault's anti-rollback counter: a TPM 2.0 NV counter index, which the
/// TPM only lets go up (TPM2_NV_Increment is the only write), not even
/// through undefine and redefine: a new counter's first increment starts
/// above the largest value any counter on that TPM has held (Part 1, 37.7).
///
/// Commands go through `Transport`; authorization is an empty password on
/// the index itself, so the agent needs no owner secret after definition.
public struct TPMMonotonicCounter<Transport: TPMTransport> {
  /// In the owner range (0x01800000-0x01BFFFFF, TCG handle registry); "CA"
  /// for camera-agent. A board definition may choose another.
  public static var defaultIndex: UInt32 { 0x0180_0CA0 }

  /// What the agent defines, and the only definition it accepts at its handle:
  /// - COUNTER: the TPM enforces increment-only; any other type is writable.
  /// - AUTHWRITE | AUTHREAD with an empty authValue: works whatever the owner
  ///   hierarchy's password is later set to; knowing it gives nothing but
  ///   "increment", which cannot roll anything back.
  /// - NO_DA: the authValue is empty, so there is nothing to guess; without
  ///   it, wrong-password attempts by anyone could lock the counter out.
  /// - not ORDERLY: an orderly counter jumps ahead after an unclean power-off,
  ///   which the vault would read as a lost increment it cannot explain.
  /// - no WRITEDEFINE / WRITE_STCLEAR / READ_STCLEAR: nothing can lock it.
  public static var attributes: UInt32 {
    TPMNVAttribute.typeCounter | TPMNVAttribute.authWrite | TPMNVAttribute.authRead | TPMNVAttribute.noDA
  }

  public var transport: Transport
  public let index: UInt32

  public init(transport: Transport, index: UInt32 = TPMMonotonicCounter.defaultIndex) {
    self.transport = transport
    self.index = index
  }

  /// The counter's value, defining it (and making it readable with a first
  /// increment) if the index is absent. Refuses any other index at the handle.
  public mutating func openOrCreate() throws(TPMError) -> UInt64 {
    if try verifiedPublic() == nil {
      let command = TPMCommand.defineSpace(index: index, attributes: Self.attributes, dataSize: 8)
      do throws(TPMError) {
        _ = try TPMResponse.parameters(
          transport.transmit(command), command: TPMConstant.ccNVDefineSpace, sessions: true)
      } catch let error where error.baseResponseCode == TPMResponseCode.nvDefined {
        // Defined between our ReadPublic and DefineSpace: checked below like any other.
      }
      guard try verifiedPublic() != nil else {
        throw .malformedResponse(command: TPMConstant.ccNVReadPublic, reason: "index absent after definition")
      }
    }
    return try read()
  }

  /// The current value. A counter defined but never incremented (a power cut
  /// between definition and first increment) is incremented now: its first
  /// value is only fixed by the TPM at that moment.
  public mutating func read() throws(TPMError) -> UInt64 {
    guard let existing = try verifiedPublic() else {
      throw .counterAbsent(index: index)
    }
    if existing.attributes & TPMNVAttribute.written == 0 { return try increment() }
    return try readValue()
  }

  /// Adds one and returns the new value.
  public mutating func increment() throws(TPMError) -> UInt64 {
    guard try verifiedPublic() != nil else {
      throw .counterAbsent(index: index)
    }
    _ = try TPMResponse.parameters(
      transport.transmit(TPMCommand.increment(index: index)), command: TPMConstant.ccNVIncrement,
      sessions: true)
    return try readValue()
  }

  /// The index's public area if it exists and is exactly our counter; nil if
  /// absent; `.notOurCounter` for anything else at the handle.
  public mutating func verifiedPublic() throws(TPMError) -> TPMNVPublic? {
    let parameters: [UInt8]
    do throws(TPMError) {
      parameters = try TPMResponse.parameters(
        transport.transmit(TPMCommand.readPublic(index: index)), command: TPMConstant.ccNVReadPublic,
        sessions: false)
    } catch let error where error.baseResponseCode == TPMResponseCode.handle {
      return nil
    }
    let found = try TPMNVPublic.parse(parameters)
    guard found.index == index else { throw .indexMismatch(asked: index, answered: found.index) }
    // WRITTEN is the TPM's state, not part of the definition; every other bit,
    // the size and the name algorithm must be ours, and no policy may exist
    // (a policy could authorize writes we did not define).
    guard found.attributes & ~TPMNVAttribute.written == Self.attributes, found.dataSize == 8,
      found.nameAlg == TPMConstant.algSHA256, found.authPolicy.isEmpty
    else {
      throw .notOurCounter(
        index: index, attributes: found.attributes, dataSize: found.dataSize, nameAlg: found.nameAlg)
    }
    return found
  }

  private mutating func readValue() throws(TPMError) -> UInt64 {
    let parameters = try TPMResponse.parameters(
      transport.transmit(TPMCommand.read(index: index, size: 8, offset: 0)), command: TPMConstant.ccNVRead,
      sessions: true)
    // TPM2B_MAX_NV_BUFFER holding exactly the 8-byte big-endian count.
    var reader = TPMReader(parameters, command: TPMConstant.ccNVRead)
    let size = try reader.u16()
    guard size == 8 else { throw reader.fail("counter read returned \(size) bytes") }
    let value = try reader.u64()
    try reader.end()
    return value
  }
}
