import AgentCore
import Testing

/// The paths that keep tokens out of `String`s and stale heap copies
/// (issue 13 item 9) compute exactly what the plain paths compute: a secret
/// member decoded into `SecretBytes` equals the string the ordinary reader
/// returns, for random documents; the form body built through
/// `SecretBytes.append` equals the plain percent-encoding; growth keeps every
/// byte; the cleansers zero the shared storage.
@Suite struct SecretDecodingTests {
  /// A random JSON string body: printable ASCII, escapes (`\"`, `\\`, `\/`,
  /// `\n`, `\u00e9`, a surrogate pair) and raw multibyte UTF-8.
  private func randomJSONString(_ random: inout SeededGenerator) -> String {
    let pieces = [
      "a", "Z", "0", "-", "_", "~", "+", "/", "=", ".", " ", "\\\"", "\\\\", "\\/", "\\n", "\\u00e9",
      "\\ud83d\\ude00", "é", "€", "😀",
    ]
    var text = ""
    for _ in 0..<(1 + random.below(120)) { text += pieces[random.below(pieces.count)] }
    return text
  }

  @Test func secretMembersDecodeToTheSameBytesAsStrings() throws {
    var random = SeededGenerator(state: 0x5EC2_E7B0_7E5A_0001)
    for _ in 0..<500 {
      let access = randomJSONString(&random)
      let refresh = randomJSONString(&random)
      let nested = randomJSONString(&random)
      let text =
        "{\"access_token\": \"\(access)\", \"token_type\": \"DPoP\", \"expires_in\": 6, "
        + "\"refresh_token\":\"\(refresh)\", \"other\": {\"refresh_token\": \"\(nested)\"}}"
      let plain = try JSONReader.parseObject(Array(text.utf8))
      let secret = try JSONReader.parseObject(
        Array(text.utf8), secretMembers: ["access_token", "refresh_token"])
      #expect(
        try secret.requiredSecret("access_token").revealCopy()
          == Array(plain.requiredString("access_token").utf8))
      #expect(
        try secret.optionalSecret("refresh_token")?.revealCopy()
          == Array(plain.requiredString("refresh_token").utf8))
      // Only the outermost members are secrets; the rest is the plain parse.
      #expect(try secret.object.requiredObject("other") == plain.requiredObject("other"))
      #expect(try secret.object.requiredString("token_type") == "DPoP")
      #expect(try secret.object.requiredString("access_token") == "")
    }
  }

  @Test func secretMembersKeepTheTypeAndDuplicateChecks() throws {
    func error(_ text: String) -> JSONError? {
      do throws(JSONError) {
        let parsed = try JSONReader.parseObject(Array(text.utf8), secretMembers: ["refresh_token"])
        _ = try parsed.requiredSecret("refresh_token")
        return nil
      } catch {
        return error
      }
    }
    #expect(error(#"{"refresh_token": 5}"#) == .wrongType("refresh_token", expected: .string))
    #expect(error(#"{"refresh_token": ["x"]}"#) == .wrongType("refresh_token", expected: .string))
    #expect(error(#"{}"#) == .missing("refresh_token"))
    #expect(error(#"{"refresh_token": null}"#) == .missing("refresh_token"))
    #expect(error(#"{"refresh_token": "a", "refresh_token": "b"}"#) != nil)
    #expect(error(#"{"refresh_token": "a\u0001"}"#) == nil)
    #expect(error("{\"refresh_token\": \"a\u{01}\"}") != nil)
    #expect(error(#"{"refresh_token": "unterminated}"#) != nil)
    #expect(error(#"["refresh_token"]"#) == .wrongType("(document)", expected: .object))
    #expect(error(#"{"refresh_token": "a"} x"#) != nil)
    let plain = try JSONReader.parseObject(Array(#"{"refresh_token": null}"#.utf8), secretMembers: [])
    #expect(try JSONSecretObjectProbe.optional(plain, "refresh_token") == nil)
  }

  @Test func formBodyGrowthEqualsPlainEncoding() {
    var random = SeededGenerator(state: 0xF0_2A_0002)
    let hex = Array("0123456789ABCDEF".utf8)
    func unreserved(_ byte: UInt8) -> Bool {
      (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
        || byte == 0x2d || byte == 0x2e || byte == 0x5f || byte == 0x7e
    }
    for _ in 0..<300 {
      var form = FormEncoding()
      var expected: [UInt8] = []
      for index in 0..<(1 + random.below(8)) {
        let asSecret = random.below(2) == 0
        // A String value is printable ASCII (valid UTF-8); a secret any bytes.
        let value = (0..<random.below(700)).map { _ in
          asSecret ? UInt8(truncatingIfNeeded: random.next()) : UInt8(0x20 + random.below(0x5f))
        }
        if !expected.isEmpty { expected.append(UInt8(ascii: "&")) }
        expected.append(contentsOf: Array("k\(index)=".utf8))
        for byte in value {
          if unreserved(byte) {
            expected.append(byte)
          } else {
            expected.append(UInt8(ascii: "%"))
            expected.append(hex[Int(byte >> 4)])
            expected.append(hex[Int(byte & 0x0f)])
          }
        }
        if asSecret {
          form.append("k\(index)", secret: SecretBytes(value))
        } else {
          form.append("k\(index)", String(decoding: value, as: UTF8.self))
        }
      }
      #expect(form.bytes == expected)
      let shared = form.bytes
      form.wipe()
      #expect(form.bytes.isEmpty)
      #expect(shared.allSatisfy { $0 == 0 })
    }
  }

  @Test func appendKeepsEveryByteAcrossGrowth() {
    var random = SeededGenerator(state: 0xA99E_0003)
    for _ in 0..<300 {
      var buffer: [UInt8] = []
      var plain: [UInt8] = []
      for _ in 0..<(1 + random.below(20)) {
        let chunk = (0..<random.below(300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        SecretBytes.append(chunk, to: &buffer)
        plain.append(contentsOf: chunk)
      }
      #expect(buffer == plain)
    }
  }

  @Test func cleanseZeroesTheSharedStorage() {
    let bytes: [UInt8] = Array("refresh-token-0123456789-abcdefghijklmnop".utf8)
    let shared = bytes
    SecretBytes.cleanse(bytes)
    #expect(shared.allSatisfy { $0 == 0 })
    let header = String(decoding: Array("DPoP access-token-0123456789abcdef".utf8), as: UTF8.self)
    let copy = header
    SecretBytes.cleanse(header)
    #expect(copy.utf8.allSatisfy { $0 == 0 })
  }
}

/// `optionalSecret` on a member that is null but not declared secret.
private enum JSONSecretObjectProbe {
  static func optional(_ object: JSONSecretObject, _ key: String) throws(JSONError) -> SecretBytes? {
    try object.optionalSecret(key)
  }
}
