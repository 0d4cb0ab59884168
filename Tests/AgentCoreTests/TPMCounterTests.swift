import AgentCore
import Foundation
import Testing

/// The monotonic counter against a real TPM 2.0 (swtpm over TCP): each test
/// gets its own emulator and state directory, removed when it ends.
@Suite struct TPMCounterTests {
  typealias Counter = TPMMonotonicCounter<SwtpmTransport>

  @Test func createThenIncrementThreeTimes() throws {
    let tpm = try Swtpm()
    // Optimized builds may end a local's life at its last use; swtpm must outlive the test.
    defer { withExtendedLifetime(tpm) {} }
    var counter = Counter(transport: try tpm.transport())
    #expect(try counter.verifiedPublic() == nil)
    let first = try counter.openOrCreate()
    let defined = try #require(try counter.verifiedPublic())
    #expect(defined.attributes == Counter.attributes | TPMNVAttribute.written)
    #expect(try counter.openOrCreate() == first)
    var values: [UInt64] = []
    for _ in 0..<3 { values.append(try counter.increment()) }
    #expect(values == [first + 1, first + 2, first + 3])
    #expect(try counter.read() == first + 3)
  }

  @Test func valuePersistsAcrossAPowerCut() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    var counter = Counter(transport: try tpm.transport())
    let first = try counter.openOrCreate()
    for _ in 0..<3 { _ = try counter.increment() }
    // SIGKILL: no TPM2_Shutdown, the TPM restarts unorderly on the same NV state.
    tpm.powerCut()
    try tpm.start()
    var after = Counter(transport: try tpm.transport())
    #expect(try after.openOrCreate() == first + 3)
    #expect(try after.increment() == first + 4)
  }

  @Test func refusesAnOrdinaryIndexAtOurHandle() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    let transport = try tpm.transport()
    // What an attacker could pre-define: same handle, same auth, but an
    // ordinary index, which NV_Write can set to any old value.
    let ordinary = TPMNVAttribute.authWrite | TPMNVAttribute.authRead | TPMNVAttribute.noDA
    _ = try TPMResponse.parameters(
      transport.transmit(
        TPMCommand.defineSpace(index: Counter.defaultIndex, attributes: ordinary, dataSize: 8)),
      command: TPMConstant.ccNVDefineSpace, sessions: true)
    var counter = Counter(transport: transport)
    #expect(
      throws: TPMError.notOurCounter(
        index: Counter.defaultIndex, attributes: ordinary, dataSize: 8, nameAlg: 0x0B)
    ) {
      try counter.openOrCreate()
    }
    #expect(throws: TPMError.self) { try counter.increment() }
    // The index the attacker planted is still there: nothing was redefined over it.
    let planted = try TPMNVPublic.parse(
      TPMResponse.parameters(
        transport.transmit(TPMCommand.readPublic(index: Counter.defaultIndex)),
        command: TPMConstant.ccNVReadPublic, sessions: false))
    #expect(planted.attributes & TPMNVAttribute.typeMask == 0)
  }

  @Test func refusesACounterWithOtherAttributes() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    let transport = try tpm.transport()
    // A counter, but ORDERLY (bit 26): it would jump ahead after a power cut.
    let orderly = TPMMonotonicCounter<SwtpmTransport>.attributes | (1 << 26)
    _ = try TPMResponse.parameters(
      transport.transmit(
        TPMCommand.defineSpace(index: Counter.defaultIndex, attributes: orderly, dataSize: 8)),
      command: TPMConstant.ccNVDefineSpace, sessions: true)
    var counter = Counter(transport: transport)
    #expect(
      throws: TPMError.notOurCounter(
        index: Counter.defaultIndex, attributes: orderly, dataSize: 8, nameAlg: 0x0B)
    ) {
      try counter.read()
    }
  }

  /// The TPM spec's guarantee that undefine + redefine cannot go back: the
  /// new counter's first value is above the largest any counter has held.
  @Test func redefinedCounterDoesNotGoBack() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    let transport = try tpm.transport()
    var counter = Counter(transport: transport)
    let first = try counter.openOrCreate()
    for _ in 0..<5 { _ = try counter.increment() }
    let before = try counter.read()
    _ = try TPMResponse.parameters(
      transport.transmit(TPMCommand.undefineSpace(index: Counter.defaultIndex)),
      command: TPMConstant.ccNVUndefineSpace, sessions: true)
    #expect(try counter.verifiedPublic() == nil)
    let redefined = try counter.openOrCreate()
    print("TPMCounterTests: first value \(first), before undefine \(before), after redefine \(redefined)")
    #expect(redefined > before)
  }

  /// The same across a power cut between undefine and redefine: the TPM keeps
  /// the largest count in NV, not in RAM.
  @Test func redefinedAfterAPowerCutDoesNotGoBack() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    var counter = Counter(transport: try tpm.transport())
    _ = try counter.openOrCreate()
    for _ in 0..<4 { _ = try counter.increment() }
    let before = try counter.read()
    _ = try TPMResponse.parameters(
      counter.transport.transmit(TPMCommand.undefineSpace(index: Counter.defaultIndex)),
      command: TPMConstant.ccNVUndefineSpace, sessions: true)
    tpm.powerCut()
    try tpm.start()
    var after = Counter(transport: try tpm.transport())
    #expect(try after.verifiedPublic() == nil)
    #expect(try after.openOrCreate() > before)
  }

  /// TPM2_Clear (lockout authorization, empty on a TPM nobody took ownership
  /// of) deletes every owner index, ours included. What the next counter
  /// starts at says whether Clear opens a rollback: recorded, not assumed.
  @Test func clearThenRedefine() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    var counter = Counter(transport: try tpm.transport())
    _ = try counter.openOrCreate()
    for _ in 0..<9 { _ = try counter.increment() }
    let before = try counter.read()
    // TPM2_Clear (TPM_CC 0x126) on TPM_RH_LOCKOUT with an empty password.
    let clear = TPMCodecTests.bytes("8002 0000001B 00000126 4000000A 00000009 40000009 0000 00 0000")
    _ = try TPMResponse.parameters(counter.transport.transmit(clear), command: 0x126, sessions: true)
    #expect(try counter.verifiedPublic() == nil)
    let after = try counter.openOrCreate()
    print("TPMCounterTests: before TPM2_Clear \(before), first value after \(after)")
    #expect(after > before)
  }
}
