import CAgentSys

// flash-replay [--mutations N] [--seed S] FILE...
//
// Each FILE is a fuzz input of the target its folder is named after
// (slot-frame, vault-record or vault-contents: the committed seeds and
// regressions). Every file is checked as is, then N mutations of it (random
// bytes, truncation, growth, and 32-bit boundary values written over 4-byte
// windows: what a forged length field holds). On this board Int is 32 bits,
// so a conversion or a sum that passes Int32.max traps here: a trap is a
// finding, and so is a property failure (exit 1).

struct XorShift {
  var state: UInt64
  mutating func next() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }
  mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(truncatingIfNeeded: next() % UInt64(n)) }
}

let boundaryValues: [UInt32] = [
  0, 1, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 0xFFFF_FFF4, 0xFFFF_FFF0,
]

func mutate(_ input: [UInt8], _ random: inout XorShift) -> [UInt8] {
  var bytes = input
  for _ in 0...random.below(4) {
    switch random.below(6) {
    case 0 where !bytes.isEmpty:
      bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
    case 1 where bytes.count > 4:
      let at = random.below(bytes.count - 3)
      let value = boundaryValues[random.below(boundaryValues.count)]
      for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
    case 2 where !bytes.isEmpty:
      bytes.removeLast(random.below(bytes.count) + 1)
    case 3:
      for _ in 0...random.below(16) { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
    case 4 where !bytes.isEmpty:
      bytes[0] = UInt8(truncatingIfNeeded: random.next())  // the target's mode byte
    default:
      if bytes.count > 1 {
        let at = random.below(bytes.count)
        bytes[at] ^= UInt8(1) << UInt8(random.below(8))
      }
    }
  }
  return bytes
}

func check(_ target: String, _ bytes: [UInt8]) -> String? {
  switch target {
  case "slot-frame": return checkSlotFrame(bytes)
  case "vault-record": return checkVaultRecord(bytes)
  case "vault-contents": return checkVaultContents(bytes)
  default: return "unknown target folder '\(target)'"
  }
}

func commandLine(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
  var out: [String] = []
  for index in 0..<Int(argc) {
    guard let pointer = argv?[index] else { continue }
    out.append(String(cString: pointer))
  }
  return out
}

@_cdecl("flash_replay_run")
func flashReplayRun(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
  var arguments = Array(commandLine(argc, argv).dropFirst())
  var mutations = 2_000
  var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
  var files: [String] = []
  while !arguments.isEmpty {
    let argument = arguments.removeFirst()
    if argument == "--mutations" || argument == "--seed" {
      guard !arguments.isEmpty, let value = UInt64(arguments.removeFirst()) else {
        Console.err("usage: flash-replay [--mutations N] [--seed S] FILE...")
        return 64
      }
      if argument == "--mutations" { mutations = Int(truncatingIfNeeded: value) } else { seed = value | 1 }
    } else {
      files.append(argument)
    }
  }
  guard !files.isEmpty else {
    Console.err("usage: flash-replay [--mutations N] [--seed S] FILE...")
    return 64
  }
  var random = XorShift(state: seed)
  // No Dictionary: its growth calls libm's ceil, which camera-agent's link line lacks too.
  let targets = ["slot-frame", "vault-record", "vault-contents"]
  var counts = [Int](repeating: 0, count: targets.count)
  var failures = 0
  for path in files {
    let parts = path.split(separator: "/")
    let target = parts.count >= 2 ? String(parts[parts.count - 2]) : ""
    let input: [UInt8]
    do throws(FileIO.ReadError) {
      input = try FileIO.read(path, maxBytes: 1 << 20)
    } catch {
      Console.err("flash-replay: \(path): \(error.description)")
      return 1
    }
    var cases = [input]
    for _ in 0..<mutations { cases.append(mutate(input, &random)) }
    for bytes in cases {
      if let failure = check(target, bytes) {
        failures += 1
        // Raw write: the hex of the input is the point, and the log rule would mask it.
        Console.write(fd: 2, "flash-replay: \(target): \(failure) (from \(path)): \(Hex.encode(bytes))\n")
      }
    }
    if let slot = targets.firstIndex(of: target) { counts[slot] += cases.count }
  }
  for (slot, target) in targets.enumerated() {
    Console.out("flash-replay: \(target): \(counts[slot]) inputs checked (Int is \(Int.bitWidth) bits)")
  }
  Console.out("flash-replay: \(failures) failures")
  return failures == 0 ? 0 : 1
}
