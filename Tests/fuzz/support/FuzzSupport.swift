// Shared by every fuzz target (compiled into each target's binary with
// @testable AgentCore): turning libFuzzer's buffer into bytes, and failing a
// property so libFuzzer records the input as a crash.
@testable import AgentCore

func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
  guard let data, size > 0 else { return [] }
  return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A property failure: aborts with the property's name, so the input is kept
/// as `crash-*` and the run counts as a finding.
func require(_ condition: Bool, _ property: @autoclosure () -> String) {
  if !condition { fatalError("property failed: \(property())") }
}

func isPrintableASCII(_ text: String) -> Bool {
  text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
}

/// What reaches a log line or stderr from an error's description.
func requireLogSafe(_ text: String, _ what: String) {
  let line = LogSafeText.line(text)
  require(isPrintableASCII(line) && line.utf8.count <= LogSafeText.lineLimit, "\(what): log line not clean")
}

/// Splits off a selector byte (for targets with several modes).
func selector(_ bytes: [UInt8]) -> (UInt8, [UInt8]) {
  guard let first = bytes.first else { return (0, []) }
  return (first, Array(bytes.dropFirst()))
}

/// The largest Int a 32-bit board has: lengths and offsets read from flash
/// are checked against it, since a hosted (64-bit) run cannot trap there.
let int32BoardMax = Int(Int32.max)
