// The log line rule (LogSafeText.line = printable ASCII, LogMask, 1,024
// characters): the output is printable ASCII and at most 1,024 characters,
// and it holds no unmasked value after a credential keyword or scheme and no
// run of 20+ token characters mixing two classes. The checker below is
// written independently of LogMask's own scanner, from the README's rule.
@testable import AgentCore

let checkedKeys = [
  "access_token", "refresh_token", "id_token", "device_code", "client_assertion", "client_secret",
  "assertion",
  "password", "secret", "token", "code", "key", "psk",
].map { Array($0.utf8) }
let checkedSchemes = ["bearer ", "dpop ", "basic "].map { Array($0.utf8) }
let masked = Array("[masked]".utf8)

func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }
func isWord(_ b: UInt8) -> Bool {
  (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
}
func isToken(_ b: UInt8) -> Bool {
  (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || "-_.~+=".utf8.contains(b)
}

func matches(_ line: [UInt8], _ at: Int, _ w: [UInt8]) -> Bool {
  guard line.count - at >= w.count else { return false }
  for i in 0..<w.count where lower(line[at + i]) != w[i] { return false }
  return true
}

/// The value after `start` is empty, masked, or a masked marker cut by the
/// line limit.
func valueIsMasked(_ line: [UInt8], _ start: Int, cut: Bool) -> Bool {
  guard start < line.count else { return true }
  let next = line[start]
  if next == 0x20 || next == 0x22 || next == 0x27 || next == 0x26 || next == 0x2c || next == 0x3b {
    return true
  }
  let rest = Array(line[start...])
  if rest.starts(with: masked) { return true }
  // "[mas" then the cut: the ellipsis was appended after a prefix of the mask.
  return cut && rest.count < masked.count && Array(masked.prefix(rest.count)) == rest
}

func checkLogLine(_ input: String) {
  let out = LogSafeText.line(input)
  var line = Array(out.utf8)
  require(line.allSatisfy { $0 >= 0x20 && $0 < 0x7f }, "printable ASCII")
  require(line.count <= LogSafeText.lineLimit, "at most 1,024 characters")
  let cut = line.count == LogSafeText.lineLimit && line.suffix(3).elementsEqual("...".utf8)
  if cut { line.removeLast(3) }
  for index in 0..<line.count where index == 0 || !isWord(line[index - 1]) {
    for scheme in checkedSchemes where matches(line, index, scheme) {
      require(valueIsMasked(line, index + scheme.count, cut: cut), "value after a scheme masked: \(out)")
    }
    for key in checkedKeys where matches(line, index, key) {
      var cursor = index + key.count
      if cursor < line.count && (line[cursor] == 0x22 || line[cursor] == 0x27) { cursor += 1 }
      while cursor < line.count && line[cursor] == 0x20 { cursor += 1 }
      guard cursor < line.count, line[cursor] == UInt8(ascii: "=") else { continue }
      cursor += 1
      while cursor < line.count && line[cursor] == 0x20 { cursor += 1 }
      if cursor < line.count && (line[cursor] == 0x22 || line[cursor] == 0x27) { cursor += 1 }
      require(
        valueIsMasked(line, cursor, cut: cut),
        "value after '\(String(decoding: key, as: UTF8.self))=' masked: \(out)")
    }
  }
  var start = 0
  while start < line.count {
    guard isToken(line[start]) else {
      start += 1
      continue
    }
    var end = start
    var upper = false
    var lowerCase = false
    var digit = false
    while end < line.count && isToken(line[end]) {
      let b = line[end]
      if b >= 65 && b <= 90 { upper = true }
      if b >= 97 && b <= 122 { lowerCase = true }
      if b >= 48 && b <= 57 { digit = true }
      end += 1
    }
    let classes = (upper ? 1 : 0) + (lowerCase ? 1 : 0) + (digit ? 1 : 0)
    require(end - start < 20 || classes < 2, "no 20+ token-shaped run: \(out)")
    start = end
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogMask(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  checkLogLine(String(decoding: bytes, as: UTF8.self))
  // Also as a value that follows a keyword, the way a server's text lands.
  checkLogLine("refresh failed: " + String(decoding: bytes, as: UTF8.self))
  return 0
}
