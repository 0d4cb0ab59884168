// The log line rule's oracle (the README's rule: printable ASCII, at most
// `lineLimit` characters, no unmasked value after a credential keyword or
// scheme, no run of 20+ token characters mixing two classes), written
// independently of LogMask's own scanner. It is a module of its own, built
// without libFuzzer's coverage instrumentation: it compares every position
// of the line against every keyword, and instrumented, those comparisons
// were most of each execution (1,100 exec/s) while adding no coverage of
// the code under test. It imports nothing from AgentCore.

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
func isDelimiter(_ b: UInt8) -> Bool {
  b == 0x20 || b == 0x22 || b == 0x27 || b == 0x26 || b == 0x2c || b == 0x3b
}

func hex(_ b: UInt8) -> UInt8? {
  switch b {
  case 48...57: return b - 48
  case 65...70: return b - 55
  case 97...102: return b - 87
  default: return nil
  }
}

/// The byte `%XX` at `at` stands for, else nil.
func percentEscape(_ line: [UInt8], _ at: Int) -> UInt8? {
  guard line.count - at >= 3, line[at] == 0x25, let high = hex(line[at + 1]), let low = hex(line[at + 2])
  else {
    return nil
  }
  return high << 4 | low
}

/// An opening quote: `"`, `'` or (per the README) their percent escapes.
func quoteWidth(_ line: [UInt8], _ at: Int) -> Int {
  guard at < line.count else { return 0 }
  if line[at] == 0x22 || line[at] == 0x27 { return 1 }
  if let escaped = percentEscape(line, at), escaped == 0x22 || escaped == 0x27 { return 3 }
  return 0
}

func valueIsMasked(_ line: [UInt8], _ start: Int, cut: Bool) -> Bool {
  guard start < line.count else { return true }
  // An empty value: a delimiter (space, quote, `&`, `,`, `;`). A percent
  // escape of one as the value's first byte is not: per the README it is
  // the start of a form-encoded value (`psk=%3Bk8...`) and must be masked.
  if isDelimiter(line[start]) { return true }
  let rest = Array(line[start...])
  if rest.starts(with: masked) { return true }
  // "[mas" then the cut: the ellipsis was appended after a prefix of the
  // mask, or of a percent-escaped opening quote and the mask ("%2", "%22[m":
  // the campaign found the cut there).
  guard cut else { return false }
  return [masked, Array("%22".utf8) + masked, Array("%27".utf8) + masked].contains { whole in
    rest.count < whole.count && Array(whole.prefix(rest.count)) == rest
  }
}

public func logLineViolation(_ out: String, lineLimit: Int) -> String? {
  var line = Array(out.utf8)
  guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return "printable ASCII" }
  guard line.count <= lineLimit else { return "at most \(lineLimit) characters" }
  let cut = line.count == lineLimit && line.suffix(3).elementsEqual("...".utf8)
  if cut { line.removeLast(3) }
  for index in 0..<line.count where index == 0 || !isWord(line[index - 1]) {
    for scheme in checkedSchemes where matches(line, index, scheme) {
      if !valueIsMasked(line, index + scheme.count, cut: cut) { return "value after a scheme masked: \(out)" }
    }
    for key in checkedKeys where matches(line, index, key) {
      var cursor = index + key.count
      if cursor < line.count && (line[cursor] == 0x22 || line[cursor] == 0x27) { cursor += 1 }
      while cursor < line.count && line[cursor] == 0x20 { cursor += 1 }
      guard cursor < line.count, line[cursor] == UInt8(ascii: "=") else { continue }
      cursor += 1
      while cursor < line.count && line[cursor] == 0x20 { cursor += 1 }
      cursor += quoteWidth(line, cursor)
      if !valueIsMasked(line, cursor, cut: cut) {
        return "value after '\(String(decoding: key, as: UTF8.self))=' masked: \(out)"
      }
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
    if end - start >= 20 && classes >= 2 { return "no 20+ token-shaped run: \(out)" }
    start = end
  }
  return nil
}
