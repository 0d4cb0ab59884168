/// A strict RFC 8259 parser for the few JSON documents the agent receives
/// (server metadata, device authorization, token and error responses).
///
/// The bodies come from the network, so every resource is bounded before it
/// is spent: the input length is checked first, nesting depth and members per
/// container are counted while parsing, and recursion is no deeper than the
/// depth limit. Anything RFC 8259 does not allow is refused rather than
/// repaired: invalid UTF-8, raw control characters in strings, unpaired
/// surrogate escapes, leading zeros, a byte order mark, trailing text.
public struct JSONReader {
  /// What a single document may cost.
  public struct Limits: Equatable {
    public var maxBytes: Int
    /// Arrays and objects inside one another, the outermost counting as 1.
    public var maxDepth: Int
    /// Elements of one array or members of one object.
    public var maxMembers: Int

    /// Defaults sized for OAuth messages: metadata documents of large
    /// providers are under 16 KB, with under 100 members and depth 3.
    public init(maxBytes: Int = 64 * 1024, maxDepth: Int = 16, maxMembers: Int = 512) {
      self.maxBytes = maxBytes
      self.maxDepth = maxDepth
      self.maxMembers = maxMembers
    }
  }

  private let input: [UInt8]
  private let limits: Limits
  private var position = 0
  private var depth = 0
  /// Members of the outermost object whose string values are secrets.
  private let secretKeys: [String]
  private var secrets: [JSONSecretObject.Member] = []

  private init(input: [UInt8], limits: Limits, secretKeys: [String] = []) {
    self.input = input
    self.limits = limits
    self.secretKeys = secretKeys
  }

  /// Parses one complete JSON text.
  public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(JSONError) -> JSONValue {
    guard bytes.count <= limits.maxBytes else { throw .tooLarge(size: bytes.count, limit: limits.maxBytes) }
    var reader = JSONReader(input: bytes, limits: limits)
    reader.skipWhitespace()
    let value = try reader.parseValue()
    reader.skipWhitespace()
    guard reader.position == bytes.count else {
      throw .syntax(offset: reader.position, expected: "end of input")
    }
    return value
  }

  public static func parse(_ text: String, limits: Limits = Limits()) throws(JSONError) -> JSONValue {
    try parse(Array(text.utf8), limits: limits)
  }

  /// Parses a JSON text that must be an object, as every OAuth response body is.
  public static func parseObject(_ bytes: [UInt8], limits: Limits = Limits()) throws(JSONError) -> JSONObject
  {
    guard let object = try parse(bytes, limits: limits).object else {
      throw .wrongType("(document)", expected: .object)
    }
    return object
  }

  /// Parses an object (a token response) whose members named in
  /// `secretMembers`, at the outermost level and when they are strings, are
  /// decoded straight into `SecretBytes`: no `String` and no intermediate
  /// array holds them (the decode buffer is allocated once, large enough, and
  /// becomes the secret's storage). In `object` such a member is an empty
  /// string; its type is still checked there.
  public static func parseObject(
    _ bytes: [UInt8], secretMembers: [String], limits: Limits = Limits()
  ) throws(JSONError) -> JSONSecretObject {
    guard bytes.count <= limits.maxBytes else { throw .tooLarge(size: bytes.count, limit: limits.maxBytes) }
    var reader = JSONReader(input: bytes, limits: limits, secretKeys: secretMembers)
    reader.skipWhitespace()
    guard reader.current == UInt8(ascii: "{") else {
      // Anything else is refused; parse it for the precise error first.
      _ = try reader.parseValue()
      throw .wrongType("(document)", expected: .object)
    }
    let object = try reader.parseObject()
    reader.skipWhitespace()
    guard reader.position == bytes.count else {
      throw .syntax(offset: reader.position, expected: "end of input")
    }
    return JSONSecretObject(object: object, secrets: reader.secrets)
  }

  // MARK: - Grammar

  private var current: UInt8? { position < input.count ? input[position] : nil }

  private mutating func skipWhitespace() {
    while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d {
      position += 1
    }
  }

  private mutating func parseValue() throws(JSONError) -> JSONValue {
    guard let byte = current else { throw .syntax(offset: position, expected: "a value") }
    switch byte {
    case UInt8(ascii: "{"): return .object(try parseObject())
    case UInt8(ascii: "["): return .array(try parseArray())
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    case UInt8(ascii: "t"):
      try expectLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expectLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expectLiteral("null")
      return .null
    default: throw .syntax(offset: position, expected: "a value")
    }
  }

  private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
    let start = position
    let length = literal.utf8CodeUnitCount
    guard input.count - position >= length else { throw .syntax(offset: start, expected: "a value") }
    let matches = literal.withUTF8Buffer { expected in
      for index in 0..<length where input[position + index] != expected[index] { return false }
      return true
    }
    guard matches else { throw .syntax(offset: start, expected: "a value") }
    position += length
  }

  private mutating func enterContainer() throws(JSONError) {
    guard depth < limits.maxDepth else { throw .tooDeep(offset: position, limit: limits.maxDepth) }
    depth += 1
    position += 1
  }

  private mutating func parseArray() throws(JSONError) -> [JSONValue] {
    let start = position
    try enterContainer()
    var elements: [JSONValue] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      position += 1
      depth -= 1
      return elements
    }
    while true {
      guard elements.count < limits.maxMembers else {
        throw .tooManyMembers(offset: start, limit: limits.maxMembers)
      }
      skipWhitespace()
      elements.append(try parseValue())
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "]"):
        position += 1
        depth -= 1
        return elements
      default: throw .syntax(offset: position, expected: "',' or ']'")
      }
    }
  }

  private mutating func parseObject() throws(JSONError) -> JSONObject {
    let start = position
    try enterContainer()
    var members: [JSONObject.Member] = []
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      position += 1
      depth -= 1
      return JSONObject(members: members)
    }
    while true {
      guard members.count < limits.maxMembers else {
        throw .tooManyMembers(offset: start, limit: limits.maxMembers)
      }
      skipWhitespace()
      let keyOffset = position
      guard current == UInt8(ascii: "\"") else { throw .syntax(offset: position, expected: "a member name") }
      let key = try parseString()
      // Linear, but bounded by maxMembers; byte comparison, not Unicode equivalence.
      for member in members where member.key.utf8.elementsEqual(key.utf8) {
        throw .duplicateKey(offset: keyOffset)
      }
      skipWhitespace()
      guard current == UInt8(ascii: ":") else { throw .syntax(offset: position, expected: "':'") }
      position += 1
      skipWhitespace()
      if depth == 1, current == UInt8(ascii: "\""), isSecretKey(key) {
        let secret = SecretBytes(try parseStringBytes(secret: true))
        secrets.append(JSONSecretObject.Member(key: key, value: secret))
        members.append(JSONObject.Member(key: key, value: .string("")))
      } else {
        members.append(JSONObject.Member(key: key, value: try parseValue()))
      }
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "}"):
        position += 1
        depth -= 1
        return JSONObject(members: members)
      default: throw .syntax(offset: position, expected: "',' or '}'")
      }
    }
  }

  // MARK: - Numbers

  /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` (RFC 8259 §6).
  private mutating func parseNumber() throws(JSONError) -> JSONNumber {
    let start = position
    let negative = current == UInt8(ascii: "-")
    if negative { position += 1 }
    guard let first = current, isDigit(first) else { throw .syntax(offset: position, expected: "a digit") }
    // Accumulated negatively so Int64.min is representable.
    var value: Int64? = 0
    if first == UInt8(ascii: "0") {
      position += 1
      if let next = current, isDigit(next) {
        throw .syntax(offset: position, expected: "no leading zero")
      }
    } else {
      while let digit = current, isDigit(digit) {
        if let accumulated = value {
          let (times10, overflow1) = accumulated.multipliedReportingOverflow(by: 10)
          let (next, overflow2) = times10.subtractingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
          value = overflow1 || overflow2 ? nil : next
        }
        position += 1
      }
    }
    if current == UInt8(ascii: ".") {
      position += 1
      guard let digit = current, isDigit(digit) else {
        throw .syntax(offset: position, expected: "a digit after '.'")
      }
      while let digit = current, isDigit(digit) {
        // 3600.0 is still the integer 3600; 3600.5 is not an integer.
        if digit != UInt8(ascii: "0") { value = nil }
        position += 1
      }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard let digit = current, isDigit(digit) else {
        throw .syntax(offset: position, expected: "a digit in the exponent")
      }
      while let digit = current, isDigit(digit) { position += 1 }
      value = nil
    }
    var int64: Int64? = nil
    if let value {
      if negative {
        int64 = value
      } else if value != Int64.min {
        int64 = -value
      }
    }
    return JSONNumber(text: String(decoding: input[start..<position], as: UTF8.self), int64: int64)
  }

  private func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  // MARK: - Strings

  private func isSecretKey(_ key: String) -> Bool {
    Word.isIn(secretKeys, key)
  }

  private mutating func parseString() throws(JSONError) -> String {
    // Every byte appended is validated UTF-8, so decoding repairs nothing.
    String(decoding: try parseStringBytes(secret: false), as: UTF8.self)
  }

  /// The decoded bytes of the string at `position`. For a secret the buffer
  /// is reserved once for the rest of the input (a decoded string is never
  /// longer than its text), so it never reallocates and leaves no partial
  /// copy behind, and it is zeroed when the string turns out malformed.
  private mutating func parseStringBytes(secret: Bool) throws(JSONError) -> [UInt8] {
    position += 1  // the opening quote
    var out: [UInt8] = []
    if secret { out.reserveCapacity(input.count - position) }
    do throws(JSONError) {
      while true {
        guard let byte = current else {
          throw .invalidString(offset: position, reason: "unterminated string")
        }
        switch byte {
        case UInt8(ascii: "\""):
          position += 1
          return out
        case UInt8(ascii: "\\"):
          try parseEscape(into: &out)
        case 0x00..<0x20:
          throw .invalidString(offset: position, reason: "control character must be escaped")
        case 0x20..<0x80:
          out.append(byte)
          position += 1
        default:
          try copyMultibyteScalar(into: &out)
        }
      }
    } catch {
      if secret { SecretBytes.cleanse(out) }
      throw error
    }
  }

  private mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
    let start = position
    position += 1
    guard let byte = current else { throw .invalidString(offset: start, reason: "unterminated escape") }
    position += 1
    switch byte {
    case UInt8(ascii: "\""): out.append(0x22)
    case UInt8(ascii: "\\"): out.append(0x5c)
    case UInt8(ascii: "/"): out.append(0x2f)
    case UInt8(ascii: "b"): out.append(0x08)
    case UInt8(ascii: "f"): out.append(0x0c)
    case UInt8(ascii: "n"): out.append(0x0a)
    case UInt8(ascii: "r"): out.append(0x0d)
    case UInt8(ascii: "t"): out.append(0x09)
    case UInt8(ascii: "u"):
      let unit = try hex4(escapeOffset: start)
      var scalar = UInt32(unit)
      if unit >= 0xdc00 && unit <= 0xdfff {
        throw .invalidString(offset: start, reason: "unpaired low surrogate")
      }
      if unit >= 0xd800 && unit <= 0xdbff {
        guard input.count - position >= 2, input[position] == UInt8(ascii: "\\"),
          input[position + 1] == UInt8(ascii: "u")
        else { throw .invalidString(offset: start, reason: "unpaired high surrogate") }
        position += 2
        let low = try hex4(escapeOffset: position - 2)
        guard low >= 0xdc00 && low <= 0xdfff else {
          throw .invalidString(offset: start, reason: "unpaired high surrogate")
        }
        scalar = 0x10000 + ((UInt32(unit) - 0xd800) << 10) + (UInt32(low) - 0xdc00)
      }
      appendUTF8(scalar, to: &out)
    default: throw .invalidString(offset: start, reason: "unknown escape")
    }
  }

  private mutating func hex4(escapeOffset: Int) throws(JSONError) -> UInt16 {
    guard input.count - position >= 4 else {
      throw .invalidString(offset: escapeOffset, reason: "short \\u escape")
    }
    var value: UInt16 = 0
    for _ in 0..<4 {
      let byte = input[position]
      let nibble: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
      default: throw .invalidString(offset: escapeOffset, reason: "non-hex digit in \\u escape")
      }
      value = value << 4 | UInt16(nibble)
      position += 1
    }
    return value
  }

  private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
      out.append(UInt8(scalar))
    case 0x80..<0x800:
      out.append(UInt8(0xc0 | scalar >> 6))
      out.append(UInt8(0x80 | scalar & 0x3f))
    case 0x800..<0x10000:
      out.append(UInt8(0xe0 | scalar >> 12))
      out.append(UInt8(0x80 | scalar >> 6 & 0x3f))
      out.append(UInt8(0x80 | scalar & 0x3f))
    default:
      out.append(UInt8(0xf0 | scalar >> 18))
      out.append(UInt8(0x80 | scalar >> 12 & 0x3f))
      out.append(UInt8(0x80 | scalar >> 6 & 0x3f))
      out.append(UInt8(0x80 | scalar & 0x3f))
    }
  }

  /// Copies one well-formed UTF-8 sequence of 2 to 4 bytes (Unicode 15
  /// table 3-7): no overlong forms, no encoded surrogates, nothing past U+10FFFF.
  private mutating func copyMultibyteScalar(into out: inout [UInt8]) throws(JSONError) {
    let start = position
    let lead = input[position]
    let length: Int
    var secondRange: ClosedRange<UInt8> = 0x80...0xbf
    switch lead {
    case 0xc2...0xdf: length = 2
    case 0xe0:
      length = 3
      secondRange = 0xa0...0xbf
    case 0xe1...0xec, 0xee...0xef: length = 3
    case 0xed:
      length = 3
      secondRange = 0x80...0x9f
    case 0xf0:
      length = 4
      secondRange = 0x90...0xbf
    case 0xf1...0xf3: length = 4
    case 0xf4:
      length = 4
      secondRange = 0x80...0x8f
    default: throw .invalidString(offset: start, reason: "invalid UTF-8")
    }
    guard input.count - start >= length, secondRange.contains(input[start + 1]) else {
      throw .invalidString(offset: start, reason: "invalid UTF-8")
    }
    for index in 2..<length where input[start + index] & 0xc0 != 0x80 {
      throw .invalidString(offset: start, reason: "invalid UTF-8")
    }
    out.append(contentsOf: input[start..<start + length])
    position += length
  }
}
