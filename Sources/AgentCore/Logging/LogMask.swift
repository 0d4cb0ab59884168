/// Masks anything in a log line that is shaped like a credential, whatever
/// produced it: an error description that quoted a server reply, a URL with
/// a code in its query, a header value. The rules are the table `rules`
/// (also in README.md); each row has its own test. A false mask costs a
/// little readability, a missed one leaks, so the rules lean to masking.
///
/// The input is printable ASCII (`LogSafeText.line` cleans first). A *run*
/// is a stretch of `A-Z a-z 0-9 - _ . ~ + =` and percent escapes (`%2F`);
/// a run not preceded by `/` also continues over single interior slashes
/// (standard base64). Runs are judged whole; a run no row masks is then read
/// character by character, so a keyword inside it (`wifi.psk=`) still counts.
public enum LogMask {
  /// One row of the table.
  public struct Rule: Sendable {
    public let name: String
    let kind: Kind
  }

  enum Kind: Sendable {
    /// An authentication scheme (any case) and a space: the value after it.
    case scheme([[UInt8]])
    /// A key followed by `=` (or `%3D`), or by `:` (or `%3A`) when the key
    /// is quoted, is in `colonKeys`, or is glued to a name by `-` or `.`
    /// (`x-api-key:`); then optional spaces and a quote: the value after it,
    /// up to a space, quote, `&`, `,` or `;` (or their percent escapes, but
    /// not one at the value's first byte).
    case assignment([Key])
    /// A run of at least `length` characters with at least `classes` of
    /// upper case, lower case and digits.
    case run(length: Int, classes: Int)
    /// An unbroken stretch of letters and digits inside a run.
    case alphanumeric(length: Int, classes: Int)
    /// A run that continues over interior slashes (base64 with `/`).
    case slashedRun(length: Int, classes: Int)
  }

  /// A key of the assignment row, lower case, and whether a bare `:` after
  /// it counts as a separator.
  struct Key: Sendable {
    let bytes: [UInt8]
    let colon: Bool
  }

  /// Keys whose value is a credential. `key`, `code` and `token` also name
  /// things in prose ("session key: generation failed", "exit code: 3"), so
  /// a bare `:` after them alone does not count.
  static let keys: [String] = [
    "access_token", "refresh_token", "id_token", "device_code", "client_assertion", "client_secret",
    "assertion", "password", "passwd", "passphrase", "private_key", "api_key", "apikey", "secret", "token",
    "code", "key", "psk",
  ]
  static let colonKeys: [String] = [
    "access_token", "refresh_token", "id_token", "device_code", "client_assertion", "client_secret",
    "assertion", "password", "passwd", "passphrase", "private_key", "api_key", "apikey", "secret", "psk",
  ]

  public static let rules: [Rule] = [
    Rule(name: "scheme", kind: .scheme(["bearer ", "dpop ", "basic "].map { Array($0.utf8) })),
    Rule(
      name: "assignment",
      kind: .assignment(keys.map { Key(bytes: Array($0.utf8), colon: Word.isIn(colonKeys, $0)) })),
    Rule(name: "long-mixed-run", kind: .run(length: 20, classes: 2)),
    Rule(name: "long-single-class", kind: .alphanumeric(length: 24, classes: 1)),
    Rule(name: "medium-mixed", kind: .alphanumeric(length: 16, classes: 2)),
    Rule(name: "short-three-class", kind: .alphanumeric(length: 10, classes: 3)),
    Rule(name: "slashed-base64", kind: .slashedRun(length: 20, classes: 3)),
  ]

  static let replacement: [UInt8] = Array("[masked]".utf8)

  /// Which bytes can begin a scheme or key (either case): most positions of
  /// a line are turned away by one look-up instead of a pass over the table.
  static let prefixStarts: [Bool] = {
    var table = [Bool](repeating: false, count: 256)
    for rule in rules {
      var words: [[UInt8]] = []
      switch rule.kind {
      case .scheme(let schemes): words = schemes
      case .assignment(let keys): words = keys.map { $0.bytes }
      case .run, .alphanumeric, .slashedRun: continue
      }
      for word in words where !word.isEmpty {
        table[Int(word[0])] = true
        if word[0] >= 0x61 && word[0] <= 0x7a { table[Int(word[0] - 32)] = true }
      }
    }
    return table
  }()

  public static func apply(_ line: String) -> String {
    let bytes = Array(line.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var index = 0
    // Where a masked value ended: a run may start there even though the byte
    // before it (inside the value) was a run byte, e.g. after `%22`.
    var afterValue = -1
    while index < bytes.count {
      if let valueStart = credentialValueStart(bytes, at: index) {
        out.append(contentsOf: bytes[index..<valueStart])
        let end = valueEnd(bytes, from: valueStart)
        if end > valueStart { out.append(contentsOf: replacement) }
        index = end
        afterValue = end
        continue
      }
      if (index == afterValue && runWidth(bytes, at: index) > 0) || isRunStart(bytes, at: index) {
        let end = runEnd(bytes, from: index, overSlashes: false)
        let slashed =
          index > 0 && bytes[index - 1] == UInt8(ascii: "/")
          ? end : runEnd(bytes, from: index, overSlashes: true)
        if let masked = maskedEnd(bytes, start: index, end: end, slashedEnd: slashed) {
          out.append(contentsOf: replacement)
          index = masked
          continue
        }
      }
      out.append(bytes[index])
      index += 1
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Where the masked text ends when a run row matches the run at `start`.
  static func maskedEnd(_ bytes: [UInt8], start: Int, end: Int, slashedEnd: Int) -> Int? {
    for rule in rules {
      switch rule.kind {
      case .scheme, .assignment: continue
      case .run(let length, let classes):
        if end - start >= length && classCount(bytes[start..<end]) >= classes { return end }
      case .alphanumeric(let length, let classes):
        if hasAlphanumericStretch(bytes[start..<end], length: length, classes: classes) { return end }
      case .slashedRun(let length, let classes):
        if slashedEnd > end && slashedEnd - start >= length
          && classCount(bytes[start..<slashedEnd]) >= classes
        {
          return slashedEnd
        }
      }
    }
    return nil
  }

  /// Where a credential value starts when a scheme or key row's prefix
  /// begins at `index` (on a word boundary), else nil.
  static func credentialValueStart(_ bytes: [UInt8], at index: Int) -> Int? {
    if !prefixStarts[Int(bytes[index])] || (index > 0 && isWordByte(bytes[index - 1])) { return nil }
    for rule in rules {
      switch rule.kind {
      case .scheme(let schemes):
        for scheme in schemes where matchesIgnoringCase(bytes, at: index, scheme) {
          return index + scheme.count
        }
      case .assignment(let keys):
        for key in keys where matchesIgnoringCase(bytes, at: index, key.bytes) {
          let compound =
            index > 0 && (bytes[index - 1] == UInt8(ascii: "-") || bytes[index - 1] == UInt8(ascii: "."))
          if let start = assignedValueStart(
            bytes, after: index + key.bytes.count, colonCounts: compound || key.colon)
          {
            return start
          }
        }
      case .run, .alphanumeric, .slashedRun: continue
      }
    }
    return nil
  }

  /// After a key: optional closing quote, spaces, `=` or `:` (or their
  /// percent escapes), spaces, an opening quote. Nil when no separator.
  static func assignedValueStart(_ bytes: [UInt8], after keyEnd: Int, colonCounts: Bool) -> Int? {
    var cursor = keyEnd
    var colonCounts = colonCounts
    if let quote = quoteWidth(bytes, at: cursor) {
      colonCounts = true
      cursor += quote
    }
    while cursor < bytes.count && bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
    guard cursor < bytes.count else { return nil }
    if bytes[cursor] == UInt8(ascii: "=") || (colonCounts && bytes[cursor] == UInt8(ascii: ":")) {
      cursor += 1
    } else if let escaped = percentEscape(bytes, at: cursor),
      escaped == UInt8(ascii: "=") || (colonCounts && escaped == UInt8(ascii: ":"))
    {
      cursor += 3
    } else {
      return nil
    }
    while cursor < bytes.count && bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
    if let quote = quoteWidth(bytes, at: cursor) { cursor += quote }
    return cursor
  }

  /// A percent-escaped delimiter ends the value except as its first byte:
  /// a form-encoded secret that begins with `;`, `,`, `&`, a space or a
  /// quote (`psk=%3Bk8...`) is a value, not an empty one followed by prose.
  /// An empty JSON string written escaped (`%22%22`) then masks one `%22`,
  /// which leans to masking.
  static func valueEnd(_ bytes: [UInt8], from start: Int) -> Int {
    var end = start
    while end < bytes.count {
      if isValueDelimiter(bytes[end]) { return end }
      if let escaped = percentEscape(bytes, at: end), isValueDelimiter(escaped) {
        if end > start { return end }
        end += 3
        continue
      }
      end += 1
    }
    return end
  }

  static func isValueDelimiter(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "&"), UInt8(ascii: ","),
      UInt8(ascii: ";"):
      return true
    default: return false
    }
  }

  /// A quote, or a percent-escaped double quote: its width, else nil.
  static func quoteWidth(_ bytes: [UInt8], at index: Int) -> Int? {
    guard index < bytes.count else { return nil }
    if bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") { return 1 }
    if let escaped = percentEscape(bytes, at: index),
      escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "'")
    {
      return 3
    }
    return nil
  }

  /// The byte `%XX` at `index` stands for, else nil.
  static func percentEscape(_ bytes: [UInt8], at index: Int) -> UInt8? {
    guard bytes[index] == UInt8(ascii: "%"), bytes.count - index >= 3,
      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
    else { return nil }
    return high << 4 | low
  }

  static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x37
    case 0x61...0x66: return byte - 0x57
    default: return nil
    }
  }

  /// `pattern` is lower case.
  static func matchesIgnoringCase(_ bytes: [UInt8], at index: Int, _ pattern: [UInt8]) -> Bool {
    guard pattern.count <= bytes.count - index else { return false }
    for offset in 0..<pattern.count where ASCII.lowercased(bytes[index + offset]) != pattern[offset] {
      return false
    }
    return true
  }

  static func isAlphanumeric(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
  }

  static func isWordByte(_ byte: UInt8) -> Bool {
    isAlphanumeric(byte) || byte == UInt8(ascii: "_")
  }

  static func isRunByte(_ byte: UInt8) -> Bool {
    if isAlphanumeric(byte) { return true }
    switch byte {
    case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "+"),
      UInt8(ascii: "="):
      return true
    default: return false
    }
  }

  /// How many bytes of a run start at `index`: 1 for a run byte, 3 for a
  /// percent escape, 0 for neither.
  static func runWidth(_ bytes: [UInt8], at index: Int) -> Int {
    if isRunByte(bytes[index]) { return 1 }
    return percentEscape(bytes, at: index) != nil ? 3 : 0
  }

  static func isRunStart(_ bytes: [UInt8], at index: Int) -> Bool {
    guard runWidth(bytes, at: index) > 0 else { return false }
    if index == 0 { return true }
    if isRunByte(bytes[index - 1]) { return false }
    // Inside an escape (`%2F` read from the `2`): not a start.
    return !(bytes[index - 1] == UInt8(ascii: "%") && percentEscape(bytes, at: index - 1) != nil)
  }

  static func runEnd(_ bytes: [UInt8], from start: Int, overSlashes: Bool) -> Int {
    var end = start
    while end < bytes.count {
      let width = runWidth(bytes, at: end)
      if width > 0 {
        end += width
      } else if overSlashes && bytes[end] == UInt8(ascii: "/") && end > start && end + 1 < bytes.count
        && runWidth(bytes, at: end + 1) > 0
      {
        end += 1
      } else {
        break
      }
    }
    return end
  }

  static func classCount(_ run: ArraySlice<UInt8>) -> Int {
    var upper = false
    var lower = false
    var digit = false
    for byte in run {
      if byte >= 0x41 && byte <= 0x5a { upper = true }
      if byte >= 0x61 && byte <= 0x7a { lower = true }
      if byte >= 0x30 && byte <= 0x39 { digit = true }
    }
    return (upper ? 1 : 0) + (lower ? 1 : 0) + (digit ? 1 : 0)
  }

  static func hasAlphanumericStretch(_ run: ArraySlice<UInt8>, length: Int, classes: Int) -> Bool {
    var start = run.startIndex
    while start < run.endIndex {
      guard isAlphanumeric(run[start]) else {
        start += 1
        continue
      }
      var end = start
      while end < run.endIndex && isAlphanumeric(run[end]) { end += 1 }
      if end - start >= length && classCount(run[start..<end]) >= classes { return true }
      start = end
    }
    return false
  }
}
