// TPM 2.0 responses (SecureElement/TPMResponse.swift) and the anti-rollback
// counter that acts on them (TPMMonotonicCounter.swift). A TPM's answers come
// from /dev/tpmrm0, i.e. from a chip, a bus or (on the emulated board) a
// relay, and are untrusted: they must never trap, never make the counter
// loop, and never let it report a value the TPM did not answer for the
// counter it verified.
//
// The identity key's commands (TPMIdentityKey.swift, TPMECCPublic.swift) go
// through the same reader: a lying TPM must not make the agent keep, use or
// evict a key that is not the one it made.
//
// Selector bit 7 clear: one response parsed directly, bits 0-2 and 4
// choosing the command it answers and bit 3 whether that command carried a
// session. Bit 7 set: over a scripted TPM whose answers are the input's
// records (2-byte big-endian length, then the bytes), one per command sent,
// a counter operation (bit 6 clear; bits 0-1: openOrCreate, read,
// increment) or an identity key operation (bit 6 set; bits 0-1: occupant,
// create, evict).
@testable import AgentCore

final class FuzzTPM: TPMTransport {
  var answers: [[UInt8]]
  var sent = 0

  init(_ answers: [[UInt8]]) { self.answers = answers }

  func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
    sent += 1
    guard !answers.isEmpty else { throw .transport(SystemError("fuzz TPM: no answer left", errno: 5)) }
    return answers.removeFirst()
  }
}

func records(_ bytes: [UInt8]) -> [[UInt8]] {
  var out: [[UInt8]] = []
  var index = 0
  while index + 2 <= bytes.count {
    let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
    index += 2
    let end = min(bytes.count, index + length)
    out.append(Array(bytes[index..<end]))
    index = end
  }
  return out
}

let commands: [UInt32] = [
  TPMConstant.ccNVDefineSpace, TPMConstant.ccNVIncrement, TPMConstant.ccNVRead, TPMConstant.ccNVReadPublic,
  TPMConstant.ccNVUndefineSpace, 0, 0x2000_1000, 0xFFFF_FFFF,
  TPMConstant.ccCreatePrimary, TPMConstant.ccReadPublic, TPMConstant.ccEvictControl,
  TPMConstant.ccFlushContext,
  TPMConstant.ccCreatePrimary, TPMConstant.ccReadPublic, TPMConstant.ccNVRead, TPMConstant.ccNVReadPublic,
]

func checkOneResponse(_ mode: UInt8, _ bytes: [UInt8]) {
  let command = commands[Int(mode & 7) | Int(mode & 0x10) >> 1]
  do throws(TPMError) {
    // CreatePrimary answers with a handle before its parameters.
    let handleCount = command == TPMConstant.ccCreatePrimary ? 1 : 0
    let (handles, parameters) = try TPMResponse.parameters(
      bytes, command: command, sessions: mode & 8 != 0, handles: handleCount)
    require(handles.count == handleCount, "\(handles.count) response handles")
    require(parameters.count + 10 + 4 * handleCount <= bytes.count, "parameters longer than the response")
    if command == TPMConstant.ccNVReadPublic {
      let found = try TPMNVPublic.parse(parameters)
      require(
        found.authPolicy.count + found.name.count <= parameters.count, "public area parts past its bytes")
    }
    if command == TPMConstant.ccReadPublic || command == TPMConstant.ccCreatePrimary {
      let found =
        command == TPMConstant.ccReadPublic
        ? try TPMECCPublic.parseReadPublic(parameters) : try TPMECCPublic.parseCreatePrimary(parameters)
      require(found.x.count <= 66 && found.y.count <= 66, "a coordinate longer than P-521's")
      require(
        found.authPolicy.count + found.x.count + found.y.count <= parameters.count,
        "public area parts past its bytes")
    }
  } catch {
    requireLogSafe(error.description, "TPM response error")
  }
}

func checkCounter(_ mode: UInt8, _ bytes: [UInt8]) {
  let answers = records(bytes)
  let tpm = FuzzTPM(answers)
  var counter = TPMMonotonicCounter(transport: tpm)
  let value: UInt64?
  do throws(TPMError) {
    switch mode & 3 {
    case 0: value = try counter.openOrCreate()
    case 1: value = try counter.read()
    default: value = try counter.increment()
    }
  } catch {
    requireLogSafe(error.description, "TPM counter error")
    value = nil
  }
  // Every operation is a handful of commands: a TPM answering in circles
  // can't make the agent loop.
  require(tpm.sent <= 8, "\(tpm.sent) commands for one counter operation")
  if value != nil {
    // A value is only reported after the public area was verified as our
    // counter (ReadPublic answered) and the value read (NV_Read answered).
    require(tpm.sent >= 2, "a value after \(tpm.sent) commands")
  }
}

func checkIdentityKey(_ mode: UInt8, _ bytes: [UInt8]) {
  let tpm = FuzzTPM(records(bytes))
  var key = TPMIdentityKey(transport: tpm)
  let handle = TPMIdentityKey<FuzzTPM>.handles[Int(mode >> 2) & 1]
  do throws(TPMError) {
    switch mode & 3 {
    case 0:
      if let found = try key.occupant(handle) {
        require(TPMIdentityKey<FuzzTPM>.isOurs(found), "an occupant that is not our template")
      }
    case 1:
      let made = try key.create(
        at: handle, authValue: Array("a".utf8), unique: [UInt8](repeating: 1, count: 32))
      // ReadPublic, then CreatePrimary, EvictControl and FlushContext at least.
      require(tpm.sent >= 4, "a key after \(tpm.sent) commands")
      require(TPMIdentityKey<FuzzTPM>.isOurs(made) && made.x.count == 32 && made.y.count == 32, "not our key")
    default:
      try key.evict(handle)
    }
  } catch {
    requireLogSafe(error.description, "TPM identity key error")
  }
  require(tpm.sent <= 8, "\(tpm.sent) commands for one identity key operation")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTPMResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let (mode, rest) = selector(fuzzInput(data, size))
  if mode & 0x80 == 0 {
    checkOneResponse(mode, rest)
  } else if mode & 0x40 == 0 {
    checkCounter(mode, rest)
  } else {
    checkIdentityKey(mode, rest)
  }
  return 0
}
