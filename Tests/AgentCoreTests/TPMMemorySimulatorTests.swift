import AgentCore
import AgentTestSupport
import Testing

/// `MemoryTPM` (the power-cut loops' TPM) must answer exactly as swtpm does:
/// one command sequence, covering every path the counter takes, sent to
/// both, every response compared byte for byte.
@Suite struct TPMMemorySimulatorTests {
  static let ours: UInt32 = 0x0180_0CA0
  static let other: UInt32 = 0x0180_0CA1

  static var sequence: [[UInt8]] {
    let counter = TPMMonotonicCounter<MemoryTPM>.attributes
    let ordinary = TPMNVAttribute.authWrite | TPMNVAttribute.authRead | TPMNVAttribute.noDA
    var commands: [[UInt8]] = [
      TPMCommand.readPublic(index: ours),  // absent
      TPMCommand.read(index: ours, size: 8, offset: 0),  // absent
      TPMCommand.increment(index: ours),  // absent
      TPMCommand.undefineSpace(index: ours),  // absent
      TPMCommand.defineSpace(index: ours, attributes: counter, dataSize: 8),
      TPMCommand.defineSpace(index: ours, attributes: counter, dataSize: 8),  // already defined
      TPMCommand.readPublic(index: ours),  // not yet written
      TPMCommand.read(index: ours, size: 8, offset: 0),  // uninitialized
    ]
    for _ in 0..<4 { commands.append(TPMCommand.increment(index: ours)) }
    commands += [
      TPMCommand.readPublic(index: ours),  // written
      TPMCommand.read(index: ours, size: 8, offset: 0),
      TPMCommand.undefineSpace(index: ours),
      TPMCommand.defineSpace(index: ours, attributes: counter, dataSize: 8),
      TPMCommand.increment(index: ours),  // starts above the deleted 4
      TPMCommand.read(index: ours, size: 8, offset: 0),
      TPMCommand.defineSpace(index: other, attributes: ordinary, dataSize: 8),
      TPMCommand.readPublic(index: other),
      TPMCommand.increment(index: other),  // not a counter
    ]
    return commands
  }

  @Test func answersAsSwtpmDoes() throws {
    let swtpm = try Swtpm()
    // Optimized builds may end a local's life at its last use; swtpm must outlive the test.
    defer { withExtendedLifetime(swtpm) {} }
    let real = try swtpm.transport()
    let memory = MemoryTPM()
    for (step, command) in Self.sequence.enumerated() {
      let want = try real.transmit(command)
      let got = try memory.transmit(command)
      #expect(got == want, "step \(step): swtpm \(hex(want)), MemoryTPM \(hex(got))")
    }
  }

  @Test func cutAfterExecutionKeepsTheIncrement() throws {
    let tpm = MemoryTPM()
    var counter = TPMMonotonicCounter(transport: tpm)
    let first = try counter.openOrCreate()
    tpm.cut = { $0 == TPMConstant.ccNVIncrement ? .afterExecution : nil }
    #expect(throws: TPMError.self) { try counter.increment() }
    #expect(throws: TPMError.self) { try counter.read() }  // powered off until powerOn
    tpm.cut = { _ in nil }
    tpm.powerOn()
    #expect(try counter.read() == first + 1)
  }

  @Test func cutBeforeExecutionLosesTheIncrement() throws {
    let tpm = MemoryTPM()
    var counter = TPMMonotonicCounter(transport: tpm)
    let first = try counter.openOrCreate()
    tpm.cut = { $0 == TPMConstant.ccNVIncrement ? .beforeExecution : nil }
    #expect(throws: TPMError.self) { try counter.increment() }
    tpm.cut = { _ in nil }
    tpm.powerOn()
    #expect(try counter.read() == first)
  }

  private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
  }
}
