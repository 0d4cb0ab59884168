import AgentCore
import Testing

/// A small deterministic generator for the fuzz loops (xorshift64*).
struct SeededGenerator {
  var state: UInt64

  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 2_685_821_657_736_338_717
  }

  mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

@Suite struct JSONReaderTests {
  private func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONReader.parse(text) }

  private func parseError(_ bytes: [UInt8], limits: JSONReader.Limits = JSONReader.Limits()) -> JSONError? {
    do throws(JSONError) {
      _ = try JSONReader.parse(bytes, limits: limits)
      return nil
    } catch {
      return error
    }
  }

  /// RFC 8259 §13, first example.
  @Test func rfc8259ImageExample() throws {
    let text = """
      {
        "Image": {
            "Width":  800,
            "Height": 600,
            "Title":  "View from 15th Floor",
            "Thumbnail": {
                "Url":    "http://www.example.com/image/481989943",
                "Height": 125,
                "Width":  100
            },
            "Animated" : false,
            "IDs": [116, 943, 234, 38793]
          }
      }
      """
    let image = try #require(try parse(text)["Image"]?.object)
    #expect(try image.requiredInt("Width") == 800)
    #expect(try image.requiredString("Title") == "View from 15th Floor")
    #expect(
      try image.requiredObject("Thumbnail").requiredString("Url") == "http://www.example.com/image/481989943")
    #expect(try image.requiredBool("Animated") == false)
    #expect(image["IDs"]?.array?.compactMap(\.int) == [116, 943, 234, 38793])
  }

  /// RFC 8259 §13, second example: fractional numbers parse, and are not integers.
  @Test func rfc8259ArrayExample() throws {
    let text = """
      [
        {
           "precision": "zip",
           "Latitude":  37.7668,
           "Longitude": -122.3959,
           "Address":   "",
           "City":      "SAN FRANCISCO",
           "State":     "CA",
           "Zip":       "94107",
           "Country":   "US"
        },
        {
           "precision": "zip",
           "Latitude":  37.371991,
           "Longitude": -122.026020,
           "Address":   "",
           "City":      "SUNNYVALE",
           "State":     "CA",
           "Zip":       "94085",
           "Country":   "US"
        }
      ]
      """
    let places = try #require(try parse(text).array)
    #expect(places.count == 2)
    let first = try #require(places[0].object)
    #expect(first["Latitude"] == .number(JSONNumber(text: "37.7668", int64: nil)))
    #expect(first["Latitude"]?.kind == .number)
    #expect(throws: JSONError.wrongType("Latitude", expected: .integer)) {
      _ = try first.requiredInt("Latitude")
    }
    #expect(try first.requiredString("Address") == "")
    #expect(try places[1].object?.requiredString("City") == "SUNNYVALE")
  }

  /// RFC 8259 §13: top-level scalars are JSON texts too.
  @Test func scalarTexts() throws {
    #expect(try parse("\"Hello world!\"") == .string("Hello world!"))
    #expect(try parse("42").int == 42)
    #expect(try parse("true") == .bool(true))
    #expect(try parse(" false ") == .bool(false))
    #expect(try parse("null").isNull)
    #expect(try parse("{}") == .object(JSONObject(members: [])))
    #expect(try parse("[]") == .array([]))
    #expect(try parse(" \t\r\n[ \t\r\n] \t\r\n") == .array([]))
  }

  @Test func integers() throws {
    #expect(try parse("0").int == 0)
    #expect(try parse("-0").int == 0)
    #expect(try parse("9223372036854775807").int == Int64.max)
    #expect(try parse("-9223372036854775808").int == Int64.min)
    #expect(try parse("3600.0").int == 3600)
    #expect(try parse("-12.000").int == -12)
    // Valid JSON numbers that are not Int64 values.
    for text in [
      "9223372036854775808", "-9223372036854775809", "1e3", "1E+3", "0.5", "1.01", "123456789012345678901234",
    ] {
      let value = try parse(text)
      #expect(value.int == nil, "\(text)")
      #expect(value.kind == .number, "\(text)")
      #expect(value == .number(JSONNumber(text: text, int64: nil)))
    }
  }

  @Test func stringEscapes() throws {
    #expect(try parse(#""\" \\ \/ \b \f \n \r \t""#) == .string("\" \\ / \u{08} \u{0c} \n \r \t"))
    #expect(try parse(#""\u0041\u00e9\u20AC\u0000""#) == .string("A\u{e9}\u{20ac}\u{0}"))
    // A surrogate pair is one scalar (RFC 8259 §7's G clef example).
    #expect(try parse(#""\uD834\uDD1E""#) == .string("\u{1D11E}"))
    #expect(try parse(#""\ud83d\ude00""#) == .string("\u{1F600}"))
    // Raw UTF-8 of every length.
    #expect(try parse("\"\u{e9}\u{20ac}\u{1F600}\u{7f}\"") == .string("\u{e9}\u{20ac}\u{1F600}\u{7f}"))
  }

  @Test func writerOutputReadsBack() throws {
    var samples = ["", "plain", "quote\" back\\ slash/", "\u{1}\u{1f}\u{7f}\n\r\t", "\u{e9}\u{1F600}"]
    samples.append(String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self))
    for sample in samples {
      var writer = JSONWriter()
      writer.beginObject()
      writer.member("k", sample)
      writer.member("n", Int64.min)
      writer.endObject()
      let object = try JSONReader.parseObject(writer.bytes)
      #expect(try object.requiredString("k") == sample)
      #expect(try object.requiredInt("n") == Int64.min)
    }
  }

  @Test(
    arguments: [
      ("", JSONError.syntax(offset: 0, expected: "a value")),
      ("   ", .syntax(offset: 3, expected: "a value")),
      ("{", .syntax(offset: 1, expected: "a member name")),
      ("}", .syntax(offset: 0, expected: "a value")),
      ("[1,]", .syntax(offset: 3, expected: "a value")),
      ("[,1]", .syntax(offset: 1, expected: "a value")),
      ("[1 2]", .syntax(offset: 3, expected: "',' or ']'")),
      ("{\"a\":1,}", .syntax(offset: 7, expected: "a member name")),
      ("{\"a\" 1}", .syntax(offset: 5, expected: "':'")),
      ("{a:1}", .syntax(offset: 1, expected: "a member name")),
      ("{\"a\":1 \"b\":2}", .syntax(offset: 7, expected: "',' or '}'")),
      ("01", .syntax(offset: 1, expected: "no leading zero")),
      ("-", .syntax(offset: 1, expected: "a digit")),
      ("-a", .syntax(offset: 1, expected: "a digit")),
      ("1.", .syntax(offset: 2, expected: "a digit after '.'")),
      (".5", .syntax(offset: 0, expected: "a value")),
      ("1e", .syntax(offset: 2, expected: "a digit in the exponent")),
      ("1e+", .syntax(offset: 3, expected: "a digit in the exponent")),
      ("+1", .syntax(offset: 0, expected: "a value")),
      ("tru", .syntax(offset: 0, expected: "a value")),
      ("nul", .syntax(offset: 0, expected: "a value")),
      ("True", .syntax(offset: 0, expected: "a value")),
      ("NaN", .syntax(offset: 0, expected: "a value")),
      ("Infinity", .syntax(offset: 0, expected: "a value")),
      ("'a'", .syntax(offset: 0, expected: "a value")),
      ("1 2", .syntax(offset: 2, expected: "end of input")),
      ("[1] x", .syntax(offset: 4, expected: "end of input")),
      ("{}{}", .syntax(offset: 2, expected: "end of input")),
      ("\"abc", .invalidString(offset: 4, reason: "unterminated string")),
      ("\"\\", .invalidString(offset: 1, reason: "unterminated escape")),
      ("\"\\x\"", .invalidString(offset: 1, reason: "unknown escape")),
      ("\"\\U0041\"", .invalidString(offset: 1, reason: "unknown escape")),
      ("\"\\u12\"", .invalidString(offset: 1, reason: "short \\u escape")),
      ("\"\\u12zz\"", .invalidString(offset: 1, reason: "non-hex digit in \\u escape")),
      ("\"\\u12", .invalidString(offset: 1, reason: "short \\u escape")),
      ("\"\\u00g0\"", .invalidString(offset: 1, reason: "non-hex digit in \\u escape")),
      ("\"\\uD800\"", .invalidString(offset: 1, reason: "unpaired high surrogate")),
      ("\"\\uD800\\u0041\"", .invalidString(offset: 1, reason: "unpaired high surrogate")),
      ("\"\\uD800\\uD800\"", .invalidString(offset: 1, reason: "unpaired high surrogate")),
      ("\"\\uDC00\"", .invalidString(offset: 1, reason: "unpaired low surrogate")),
      ("\"\\uDFFF\\uD800\"", .invalidString(offset: 1, reason: "unpaired low surrogate")),
      ("\"tab\there\"", .invalidString(offset: 4, reason: "control character must be escaped")),
      ("\"new\nline\"", .invalidString(offset: 4, reason: "control character must be escaped")),
      ("\"nul\u{0}\"", .invalidString(offset: 4, reason: "control character must be escaped")),
      ("{\"a\":1,\"a\":2}", .duplicateKey(offset: 7)),
      ("{\"a\":1,\"\\u0061\":2}", .duplicateKey(offset: 7)),
      ("[{\"k\":[],\"k\":{}}]", .duplicateKey(offset: 9)),
    ])
  func malformedText(text: String, expected: JSONError) {
    #expect(parseError(Array(text.utf8)) == expected, "\(text)")
  }

  @Test(
    arguments: [
      ([0x22, 0xc0, 0x80, 0x22], 1),  // overlong NUL
      ([0x22, 0xc1, 0xbf, 0x22], 1),  // overlong
      ([0x22, 0xe0, 0x80, 0x80, 0x22], 1),  // overlong 3-byte
      ([0x22, 0xed, 0xa0, 0x80, 0x22], 1),  // UTF-8 encoded surrogate
      ([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], 1),  // above U+10FFFF
      ([0x22, 0xf5, 0x80, 0x80, 0x80, 0x22], 1),
      ([0x22, 0xff, 0x22], 1),
      ([0x22, 0x80, 0x22], 1),  // lone continuation byte
      ([0x22, 0x41, 0xe2, 0x82, 0x22], 2),  // truncated sequence
      ([0x22, 0xe2, 0x82], 1),  // truncated at end of input
      ([0x22, 0xf0, 0x9f, 0x98, 0x41, 0x22], 1),  // bad 4th byte
    ] as [([UInt8], Int)])
  func invalidUTF8IsRefused(bytes: [UInt8], offset: Int) {
    #expect(parseError(bytes) == .invalidString(offset: offset, reason: "invalid UTF-8"))
  }

  /// RFC 8259 §8.1: a byte order mark is not added, and this parser does not skip one.
  @Test func byteOrderMarkIsRefused() {
    #expect(parseError([0xef, 0xbb, 0xbf, 0x7b, 0x7d]) == .syntax(offset: 0, expected: "a value"))
  }

  @Test func depthLimit() throws {
    let sixteen = String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
    #expect(try parse(sixteen).array?.count == 1)
    let seventeen = String(repeating: "[", count: 17) + String(repeating: "]", count: 17)
    #expect(parseError(Array(seventeen.utf8)) == .tooDeep(offset: 16, limit: 16))
    let objects = String(repeating: "{\"a\":", count: 17) + "1" + String(repeating: "}", count: 17)
    #expect(parseError(Array(objects.utf8)) == .tooDeep(offset: 80, limit: 16))
    // A million open brackets under a raised byte limit: refused at depth 16, no stack overflow.
    let deep = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
    #expect(
      parseError(deep, limits: JSONReader.Limits(maxBytes: 2_000_000)) == .tooDeep(offset: 16, limit: 16))
  }

  @Test func memberLimit() throws {
    let limits = JSONReader.Limits(maxMembers: 4)
    #expect(try JSONReader.parse("[1,2,3,4]", limits: limits).array?.count == 4)
    #expect(parseError(Array("[1,2,3,4,5]".utf8), limits: limits) == .tooManyMembers(offset: 0, limit: 4))
    let object = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}"
    #expect(
      parseError(Array(("[" + object + "]").utf8), limits: limits) == .tooManyMembers(offset: 1, limit: 4))
    let many = "[" + Array(repeating: "0", count: 513).joined(separator: ",") + "]"
    #expect(parseError(Array(many.utf8)) == .tooManyMembers(offset: 0, limit: 512))
  }

  @Test func sizeLimitIsCheckedBeforeParsing() throws {
    let tenMB = [UInt8](repeating: UInt8(ascii: " "), count: 10 * 1024 * 1024)
    #expect(parseError(tenMB) == .tooLarge(size: 10 * 1024 * 1024, limit: 64 * 1024))
    #expect(
      parseError(Array("[1]".utf8), limits: JSONReader.Limits(maxBytes: 2)) == .tooLarge(size: 3, limit: 2))
    // A 10 MB string under a raised limit parses in linear time.
    var big: [UInt8] = [0x22]
    big.append(contentsOf: [UInt8](repeating: UInt8(ascii: "x"), count: 10 * 1024 * 1024))
    big.append(0x22)
    let value = try JSONReader.parse(big, limits: JSONReader.Limits(maxBytes: 11 * 1024 * 1024))
    #expect(value.string?.utf8.count == 10 * 1024 * 1024)
  }

  @Test func typedGetters() throws {
    let object = try JSONReader.parseObject(
      Array(#"{"s":"x","i":5,"f":1.5,"b":true,"n":null,"a":["p","q"],"o":{},"mixed":["p",1]}"#.utf8))
    #expect(try object.requiredString("s") == "x")
    #expect(try object.optionalString("s") == "x")
    #expect(try object.optionalString("absent") == nil)
    #expect(try object.optionalString("n") == nil)
    #expect(try object.optionalInt("n") == nil)
    #expect(try object.optionalStringArray("a") == ["p", "q"])
    #expect(try object.optionalStringArray("n") == nil)
    #expect(throws: JSONError.missing("absent")) { _ = try object.requiredString("absent") }
    #expect(throws: JSONError.missing("absent")) { _ = try object.requiredInt("absent") }
    #expect(throws: JSONError.wrongType("i", expected: .string)) { _ = try object.requiredString("i") }
    #expect(throws: JSONError.wrongType("s", expected: .integer)) { _ = try object.requiredInt("s") }
    #expect(throws: JSONError.wrongType("f", expected: .integer)) { _ = try object.optionalInt("f") }
    #expect(throws: JSONError.wrongType("n", expected: .string)) { _ = try object.requiredString("n") }
    #expect(throws: JSONError.wrongType("s", expected: .boolean)) { _ = try object.requiredBool("s") }
    #expect(throws: JSONError.wrongType("s", expected: .array)) { _ = try object.optionalStringArray("s") }
    #expect(throws: JSONError.wrongType("mixed", expected: .string)) {
      _ = try object.optionalStringArray("mixed")
    }
    #expect(throws: JSONError.wrongType("a", expected: .object)) { _ = try object.requiredObject("a") }
    #expect(throws: JSONError.wrongType("(document)", expected: .object)) {
      _ = try JSONReader.parseObject(Array("[]".utf8))
    }
    #expect(object["o"]?.kind == .object)
    #expect(object["n"]?.kind == .null)
    #expect(JSONValue.string("x")["key"] == nil)
  }

  @Test func errorDescriptionsNameTheOffsetNotTheText() {
    let error = parseError(Array("{\"token\":\"secret\u{1}\"}".utf8))
    #expect(error?.description == "invalid JSON string at byte 16: control character must be escaped")
    #expect(
      JSONError.wrongType("expires_in", expected: .integer).description
        == "member 'expires_in' is not an integer")
    #expect(JSONError.missing("issuer").description == "missing member 'issuer'")
  }

  /// Random mutations and every truncation of a realistic document: the
  /// parser answers with a value or a JSONError, never a trap.
  @Test func mutatedInputNeverTraps() {
    let seed =
      Array(
        #"{"access_token":"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU","token_type":"DPoP","expires_in":2677,"#
          .utf8)
      + Array(
        #""refresh_token":"Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g","x":[1.5e3,-0,{"\u00e9":"é"}]}"#
          .utf8)
    var generator = SeededGenerator(state: 0x9e37_79b9_7f4a_7c15)
    let alphabet: [UInt8] =
      Array("{}[]\":,\\u0123456789.eE+-tfnrl \t\n".utf8) + [0x00, 0x80, 0xc3, 0xed, 0xf4, 0xff]
    var outcomes = 0
    for length in 0...seed.count {
      _ = parseError(Array(seed[0..<length]))
      outcomes += 1
    }
    for _ in 0..<5_000 {
      var bytes = seed
      for _ in 0...generator.below(4) {
        let position = generator.below(bytes.count)
        switch generator.below(3) {
        case 0: bytes[position] = alphabet[generator.below(alphabet.count)]
        case 1: bytes.insert(alphabet[generator.below(alphabet.count)], at: position)
        default: bytes.remove(at: position)
        }
      }
      _ = parseError(bytes)
      outcomes += 1
    }
    #expect(outcomes == seed.count + 1 + 5_000)
  }
}
