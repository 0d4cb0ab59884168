import AgentCore
import Testing

/// Canned bytes through the TPM command builders and response parser: the
/// encodings are checked against hand-assembled TPM 2.0 structures, and
/// every malformed response must become a typed error, never a trap.
@Suite struct TPMCodecTests {
  static let index: UInt32 = 0x0180_0CA0

  static func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
  }

  /// A ReadPublic success for a public area with these fields (SHA-256 name).
  static func readPublicResponse(
    index: UInt32 = index, attributes: UInt32, dataSize: UInt16 = 8, policy: [UInt8] = []
  ) -> [UInt8] {
    func be32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> UInt32($0)) } }
    func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    let publicArea =
      be32(index) + [0x00, 0x0B] + be32(attributes) + be16(UInt16(policy.count)) + policy + be16(dataSize)
    let name: [UInt8] = [0x00, 0x0B] + [UInt8](repeating: 0xAB, count: 32)
    let body = be16(UInt16(publicArea.count)) + publicArea + be16(UInt16(name.count)) + name
    return [0x80, 0x01] + be32(UInt32(10 + body.count)) + [0, 0, 0, 0] + body
  }

  // An empty-password session response (nonce 0, continueSession, hmac 0).
  static let passwordAuth = "0000 01 0000"
  static let incrementOK = bytes("8002 00000013 00000000 00000000" + passwordAuth)
  static func readOK(_ value: String) -> [UInt8] {
    bytes("8002 0000001D 00000000 0000000A 0008" + value + passwordAuth)
  }

  @Test func commandEncodings() {
    // Part 3, 31.3: tag, size, TPM_CC_NV_DefineSpace, TPM_RH_OWNER, one
    // password authorization (9 bytes), empty auth, TPM2B_NV_PUBLIC of 14.
    #expect(
      TPMCommand.defineSpace(index: Self.index, attributes: 0x0204_0014, dataSize: 8)
        == Self.bytes(
          "8002 0000002D 0000012A 40000001 00000009 40000009 0000 00 0000"
            + "0000 000E 01800CA0 000B 02040014 0000 0008"))
    #expect(
      TPMCommand.increment(index: Self.index)
        == Self.bytes("8002 0000001F 00000134 01800CA0 01800CA0 00000009 40000009 0000 00 0000"))
    #expect(
      TPMCommand.read(index: Self.index, size: 8, offset: 0)
        == Self.bytes("8002 00000023 0000014E 01800CA0 01800CA0 00000009 40000009 0000 00 0000 0008 0000"))
    #expect(TPMCommand.readPublic(index: Self.index) == Self.bytes("8001 0000000E 00000169 01800CA0"))
    #expect(
      TPMCommand.undefineSpace(index: Self.index)
        == Self.bytes("8002 0000001F 00000122 40000001 01800CA0 00000009 40000009 0000 00 0000"))
  }

  @Test func ourAttributesAreACounterWithIndexAuth() {
    // COUNTER (0x10) | AUTHWRITE (0x4) | AUTHREAD (0x40000) | NO_DA (0x2000000).
    #expect(TPMMonotonicCounter<ScriptedTPM>.attributes == 0x0204_0014)
  }

  @Test func parsesReadPublic() throws {
    let response = Self.readPublicResponse(attributes: 0x2204_0014)
    let parameters = try TPMResponse.parameters(
      response, command: TPMConstant.ccNVReadPublic, sessions: false)
    let found = try TPMNVPublic.parse(parameters)
    #expect(found.index == Self.index)
    #expect(found.attributes == 0x2204_0014)
    #expect(found.dataSize == 8)
    #expect(found.nameAlg == 0x000B)
    #expect(found.name.count == 34)
  }

  @Test func parsesIncrementAndRead() throws {
    #expect(try TPMResponse.parameters(Self.incrementOK, command: 0x134, sessions: true).isEmpty)
    #expect(
      try TPMResponse.parameters(Self.readOK("0000000000000007"), command: 0x14E, sessions: true)
        == Self.bytes("0008 0000000000000007"))
  }

  @Test func errorCodeKeepsTheRC() {
    // TPM_RC_HANDLE for handle 1 (0x18B), as a TPM answers for an absent index.
    #expect(throws: TPMError.responseCode(command: 0x169, rc: 0x18B)) {
      try TPMResponse.parameters(Self.bytes("8001 0000000A 0000018B"), command: 0x169, sessions: false)
    }
    let error = TPMError.responseCode(command: 0x169, rc: 0x18B)
    #expect(error.baseResponseCode == TPMResponseCode.handle)
    #expect(error.description.contains("0000018b") && error.description.contains("TPM_RC_HANDLE"))
    #expect(
      TPMError.responseCode(command: 0x14E, rc: 0x14A).baseResponseCode == TPMResponseCode.nvUninitialized)
  }

  @Test(arguments: [
    ("", "shorter than a response header"),
    ("8001 0000000A 000000", "shorter than a response header"),
    ("8001 0000000B 00000000", "size field 11"),  // size says 11, 10 arrived
    ("8001 0000000A 00000000 00", "size field 10"),  // a byte more than announced
    ("C001 0000000A 00000000", "tag 0x0000c001"),
    ("8002 0000000E 0000018B 00000000", "error rc 0x0000018b with a session tag or a body"),
    ("8002 0000000A 00000000", "truncated"),  // sessions tag, no parameterSize
    ("8001 0000000E 00000000 00000000", "no session area"),
    ("8002 00000013 00000000 00000006 0000 01 0000", "parameterSize 6"),
    ("8002 00000012 00000000 00000000 0000 01 00", "truncated"),  // hmac size cut
    ("8002 00000014 00000000 00000000 0000 01 0000 00", "1 trailing bytes"),
    ("8002 00000014 00000000 00000000 0001 AA 01 0000", "nonce or hmac"),
  ])
  func malformedSessionResponses(hex: String, reason: String) {
    do {
      _ = try TPMResponse.parameters(Self.bytes(hex), command: 0x134, sessions: true)
      Issue.record("accepted \(hex)")
    } catch {
      guard case .malformedResponse(let command, let got) = error else {
        Issue.record("\(hex): \(error)")
        return
      }
      #expect(command == 0x134)
      #expect(got.contains(reason), "\(hex): \(got)")
    }
  }

  @Test func sessionTagOnASessionlessCommandIsRefused() {
    #expect(
      throws: TPMError.malformedResponse(command: 0x169, reason: "session tag on a sessionless command")
    ) {
      try TPMResponse.parameters(Self.incrementOK, command: 0x169, sessions: false)
    }
  }

  @Test func oversizedResponseIsRefusedUnread() {
    var big = [UInt8](repeating: 0, count: TPMConstant.maxResponseBytes + 1)
    big[0] = 0x80
    big[1] = 0x01
    #expect(throws: TPMError.self) { try TPMResponse.parameters(big, command: 0x169, sessions: false) }
  }

  @Test func malformedPublicAreas() {
    let good = try! TPMResponse.parameters(
      Self.readPublicResponse(attributes: 0x0204_0014), command: 0x169, sessions: false)
    // Every strict prefix, and every inner size field off by one, is refused.
    for cut in 0..<good.count {
      #expect(throws: TPMError.self, "prefix \(cut)") { try TPMNVPublic.parse(Array(good[0..<cut])) }
    }
    var longerPublic = good
    longerPublic[1] &+= 1
    #expect(throws: TPMError.self) { try TPMNVPublic.parse(longerPublic) }
    var shorterPublic = good
    shorterPublic[1] &-= 1
    #expect(throws: TPMError.self) { try TPMNVPublic.parse(shorterPublic) }
    #expect(throws: TPMError.self) { try TPMNVPublic.parse(good + [0]) }
    // A 65-byte authPolicy is larger than any TPM digest.
    let hugePolicy = try! TPMResponse.parameters(
      Self.readPublicResponse(attributes: 0x0204_0014, policy: [UInt8](repeating: 1, count: 65)),
      command: 0x169, sessions: false)
    #expect(throws: TPMError.malformedResponse(command: 0x169, reason: "authPolicy of 65 bytes")) {
      try TPMNVPublic.parse(hugePolicy)
    }
  }

  /// Every single-byte corruption of every response kind: parsing either
  /// succeeds or throws a TPMError; a trap would kill the test process.
  @Test func everyByteCorruptionIsHandled() {
    let responses = [
      Self.readPublicResponse(attributes: 0x2204_0014), Self.incrementOK, Self.readOK("00000000000000FF"),
    ]
    var rejected = 0
    for response in responses {
      for position in 0..<response.count {
        for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFF] where response[position] != value {
          var corrupt = response
          corrupt[position] = value
          let sessions = response[1] == 0x02
          do throws(TPMError) {
            let parameters = try TPMResponse.parameters(corrupt, command: 0x169, sessions: sessions)
            if !sessions { _ = try TPMNVPublic.parse(parameters) }
          } catch {
            rejected += 1
          }
        }
      }
    }
    #expect(rejected > 100)
  }
}

/// A TPM that answers from a script and records what it was sent.
final class ScriptedTPM: TPMTransport {
  var answers: [[UInt8]]
  var sent: [[UInt8]] = []

  init(_ answers: [[UInt8]]) { self.answers = answers }

  func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
    sent.append(command)
    guard !answers.isEmpty else { throw .transport(SystemError("scripted TPM: no answer left", errno: 5)) }
    return answers.removeFirst()
  }

  /// The command codes sent, in order.
  var codes: [UInt32] {
    sent.map { UInt32($0[6]) << 24 | UInt32($0[7]) << 16 | UInt32($0[8]) << 8 | UInt32($0[9]) }
  }
}

/// The counter's decisions against a scripted TPM.
@Suite struct TPMCounterScriptTests {
  typealias Counter = TPMMonotonicCounter<ScriptedTPM>
  static let absent = TPMCodecTests.bytes("8001 0000000A 0000018B")
  static let ours = TPMCodecTests.readPublicResponse(attributes: 0x2204_0014)
  static let oursUnwritten = TPMCodecTests.readPublicResponse(attributes: 0x0204_0014)
  static let defineOK = TPMCodecTests.bytes("8002 00000013 00000000 00000000 0000 01 0000")

  @Test func absentIndexIsDefinedThenIncrementedOnce() throws {
    let tpm = ScriptedTPM([
      Self.absent, Self.defineOK, Self.oursUnwritten, Self.oursUnwritten, Self.oursUnwritten,
      TPMCodecTests.incrementOK, TPMCodecTests.readOK("0000000000000001"),
    ])
    var counter = Counter(transport: tpm)
    #expect(try counter.openOrCreate() == 1)
    #expect(tpm.codes == [0x169, 0x12A, 0x169, 0x169, 0x169, 0x134, 0x14E])
    #expect(
      tpm.sent[1]
        == TPMCommand.defineSpace(index: Counter.defaultIndex, attributes: Counter.attributes, dataSize: 8))
  }

  @Test func writtenCounterIsReadNotIncremented() throws {
    let tpm = ScriptedTPM([Self.ours, Self.ours, TPMCodecTests.readOK("0000000100000002")])
    var counter = Counter(transport: tpm)
    #expect(try counter.openOrCreate() == 0x1_0000_0002)
    #expect(!tpm.codes.contains(0x134))
  }

  @Test(arguments: [
    UInt32(0x2204_0004),  // ordinary index (TPM_NT 0), writable: could be set back
    0x2204_0024,  // bit field
    0x2204_0044,  // extend
    0x2204_0016,  // our counter plus OWNERWRITE
    0x2604_0014,  // our counter plus ORDERLY
    0x2204_2014,  // our counter plus WRITEDEFINE (lockable)
    0x2004_0014,  // without NO_DA
    0x6204_0014,  // PLATFORMCREATE
  ])
  func refusesAnythingButOurCounter(attributes: UInt32) {
    let tpm = ScriptedTPM([TPMCodecTests.readPublicResponse(attributes: attributes)])
    var counter = Counter(transport: tpm)
    #expect(
      throws: TPMError.notOurCounter(
        index: Counter.defaultIndex, attributes: attributes, dataSize: 8, nameAlg: 0x0B)
    ) {
      try counter.openOrCreate()
    }
    #expect(tpm.codes == [0x169])
  }

  @Test func refusesWrongSizePolicyOrHandle() {
    for response in [
      TPMCodecTests.readPublicResponse(attributes: 0x2204_0014, dataSize: 4),
      TPMCodecTests.readPublicResponse(attributes: 0x2204_0014, policy: [UInt8](repeating: 7, count: 32)),
    ] {
      var counter = Counter(transport: ScriptedTPM([response]))
      #expect(throws: TPMError.self) { try counter.read() }
    }
    var counter = Counter(
      transport: ScriptedTPM([TPMCodecTests.readPublicResponse(index: 0x0180_0001, attributes: 0x2204_0014)]))
    #expect(throws: TPMError.indexMismatch(asked: Counter.defaultIndex, answered: 0x0180_0001)) {
      try counter.read()
    }
  }

  @Test func readOfAnAbsentCounterSaysSo() {
    var counter = Counter(transport: ScriptedTPM([Self.absent]))
    #expect(throws: TPMError.counterAbsent(index: Counter.defaultIndex)) { try counter.read() }
  }

  @Test func incrementFailureKeepsTheRC() {
    // TPM_RC_NV_RATE: the TPM is rate-limiting NV writes.
    var counter = Counter(transport: ScriptedTPM([Self.ours, TPMCodecTests.bytes("8001 0000000A 00000920")]))
    #expect(throws: TPMError.responseCode(command: 0x134, rc: 0x920)) { try counter.increment() }
  }

  @Test func shortCounterReadIsRefused() {
    let short = TPMCodecTests.bytes(
      "8002 00000019 00000000 00000006 0004 00000001" + TPMCodecTests.passwordAuth)
    var counter = Counter(transport: ScriptedTPM([Self.ours, short]))
    #expect(throws: TPMError.malformedResponse(command: 0x14E, reason: "counter read returned 4 bytes")) {
      try counter.read()
    }
  }
}
