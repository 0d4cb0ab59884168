import AgentCore

/// An in-memory TPM 2.0 that answers the five NV commands the counter sends
/// (ReadPublic, DefineSpace, UndefineSpace, Increment, Read) byte for byte
/// as swtpm does (`TPMMemorySimulatorTests` holds it to that), so power-cut
/// loops over the vault can run thousands of cuts without an emulator.
///
/// Counters follow the TPM rule the anti-rollback design relies on: a new
/// counter's first increment starts above the largest value any deleted
/// counter held. `cut` decides, per command, whether power is lost before
/// the TPM executes it or after (the NV write done, the response lost);
/// after a cut every command fails until `powerOn()`. NV state survives.
public final class MemoryTPM: TPMTransport {
  public enum Cut: Equatable {
    case beforeExecution
    case afterExecution
  }

  struct Index {
    var attributes: UInt32
    var dataSize: UInt16
    var nameAlg: UInt16
    var authPolicy: [UInt8]
    var value: UInt64 = 0
  }

  private var indices: [UInt32: Index] = [:]
  private var largestDeletedCount: UInt64 = 0
  public private(set) var powered = true
  /// Commands executed (cut or not), by command code, for test assertions.
  public private(set) var executed: [UInt32] = []
  /// Asked before each command; nil means no cut.
  public var cut: (_ commandCode: UInt32) -> Cut? = { _ in nil }

  public init() {}

  public func powerOn() { powered = true }

  /// The counter's value as the TPM holds it, bypassing the protocol.
  public func value(at index: UInt32) -> UInt64? { indices[index].map { $0.value } }

  public func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
    guard powered else { throw .transport(SystemError("simulated TPM: powered off", errno: 5)) }
    let code = Self.u32(command, 6)
    let decision = cut(code)
    if decision == .beforeExecution {
      powered = false
      throw .transport(SystemError("simulated TPM: power cut before execution", errno: 5))
    }
    executed.append(code)
    let response = execute(code, command)
    if decision == .afterExecution {
      powered = false
      throw .transport(SystemError("simulated TPM: power cut after execution", errno: 5))
    }
    return response
  }

  // MARK: Commands (well-formed input from our own builders; anything else is TPM_RC_COMMAND_CODE)

  private static let rcHandle1: UInt32 = 0x18B
  private static let rcHandle2: UInt32 = 0x28B
  private static let rcAttributes: UInt32 = 0x282  // TPM_RC_ATTRIBUTES on handle 2 (the index)
  private static let rcCommandCode: UInt32 = 0x143

  private func execute(_ code: UInt32, _ command: [UInt8]) -> [UInt8] {
    switch code {
    case TPMConstant.ccNVReadPublic:
      let handle = Self.u32(command, 10)
      guard let index = indices[handle] else { return Self.error(Self.rcHandle1) }
      let area = Self.publicArea(handle, index)
      var body = TPMWriterLite()
      body.u16(UInt16(area.count))
      body.append(area)
      let name = Self.name(area, index.nameAlg)
      body.u16(UInt16(name.count))
      body.append(name)
      return Self.success(body.bytes, sessions: false)
    case TPMConstant.ccNVDefineSpace:
      // header 10, owner 4, auth area size 4 + 9, auth TPM2B (empty: 2), public size 2, public.
      let authSize = Int(Self.u16(command, 27))
      let p = 29 + authSize + 2
      let handle = Self.u32(command, p)
      guard indices[handle] == nil else { return Self.error(0x14C) }
      let policySize = Int(Self.u16(command, p + 10))
      indices[handle] = Index(
        attributes: Self.u32(command, p + 6), dataSize: Self.u16(command, p + 12 + policySize),
        nameAlg: Self.u16(command, p + 4), authPolicy: Array(command[(p + 12)..<(p + 12 + policySize)]))
      return Self.success([], sessions: true)
    case TPMConstant.ccNVUndefineSpace:
      let handle = Self.u32(command, 14)
      guard let index = indices[handle] else { return Self.error(Self.rcHandle2) }
      if Self.isCounter(index) { largestDeletedCount = max(largestDeletedCount, index.value) }
      indices[handle] = nil
      return Self.success([], sessions: true)
    case TPMConstant.ccNVIncrement:
      let handle = Self.u32(command, 10)
      guard var index = indices[handle] else { return Self.error(Self.rcHandle1) }
      guard Self.isCounter(index) else { return Self.error(Self.rcAttributes) }
      if index.attributes & TPMNVAttribute.written == 0 {
        index.value = largestDeletedCount
        index.attributes |= TPMNVAttribute.written
      }
      index.value &+= 1
      indices[handle] = index
      return Self.success([], sessions: true)
    case TPMConstant.ccNVRead:
      let handle = Self.u32(command, 10)
      guard let index = indices[handle] else { return Self.error(Self.rcHandle1) }
      guard index.attributes & TPMNVAttribute.written != 0 else {
        return Self.error(TPMResponseCode.nvUninitialized)
      }
      var body = TPMWriterLite()
      body.u16(8)
      body.u32(UInt32(truncatingIfNeeded: index.value >> 32))
      body.u32(UInt32(truncatingIfNeeded: index.value))
      return Self.success(body.bytes, sessions: true)
    default:
      return Self.error(Self.rcCommandCode)
    }
  }

  private static func isCounter(_ index: Index) -> Bool {
    index.attributes & TPMNVAttribute.typeMask == TPMNVAttribute.typeCounter
  }

  private static func publicArea(_ handle: UInt32, _ index: Index) -> [UInt8] {
    var area = TPMWriterLite()
    area.u32(handle)
    area.u16(index.nameAlg)
    area.u32(index.attributes)
    area.u16(UInt16(index.authPolicy.count))
    area.append(index.authPolicy)
    area.u16(index.dataSize)
    return area.bytes
  }

  /// TPM 2.0 Part 1, 16: an NV index's name is nameAlg || H(public area).
  private static func name(_ area: [UInt8], _ nameAlg: UInt16) -> [UInt8] {
    var name = TPMWriterLite()
    name.u16(nameAlg)
    name.append((try? SHA256.hash(area)) ?? [])
    return name.bytes
  }

  private static func success(_ parameters: [UInt8], sessions: Bool) -> [UInt8] {
    var body = TPMWriterLite()
    if sessions {
      body.u32(UInt32(parameters.count))
      body.append(parameters)
      body.append([0x00, 0x00, 0x01, 0x00, 0x00])  // password session: continueSession echoed
    } else {
      body.append(parameters)
    }
    var out = TPMWriterLite()
    out.u16(sessions ? TPMConstant.tagSessions : TPMConstant.tagNoSessions)
    out.u32(UInt32(10 + body.bytes.count))
    out.u32(0)
    out.append(body.bytes)
    return out.bytes
  }

  private static func error(_ rc: UInt32) -> [UInt8] {
    var out = TPMWriterLite()
    out.u16(TPMConstant.tagNoSessions)
    out.u32(10)
    out.u32(rc)
    return out.bytes
  }

  private static func u16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
  private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
  }
}

/// Big-endian appends (AgentCore's writer is internal to it).
private struct TPMWriterLite {
  var bytes: [UInt8] = []
  mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
  mutating func u32(_ v: UInt32) {
    bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> UInt32($0)) }
  }
  mutating func append(_ more: [UInt8]) { bytes += more }
}
