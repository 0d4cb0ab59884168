/// Parses `WWW-Authenticate` challenges (RFC 9110 §11.6.1), to read the
/// `error` a resource server puts in its `DPoP` challenge (RFC 9449 §7.1,
/// RFC 6750 §3): `invalid_token` starts a re-authentication,
/// `use_dpop_nonce` a retry with the new `DPoP-Nonce`.
///
/// The grammar allows several challenges in one value and commas both
/// between challenges and between parameters; a parameter is `name=value`,
/// where a new challenge is a scheme followed by a space, which is how the
/// two are told apart. Input is bounded and anything outside the grammar is
/// refused, not guessed at.
public enum WWWAuthenticate {
  public static let maxLength = 8192
  public static let maxChallenges = 16
  public static let maxParameters = 32

  public struct Challenge: Equatable {
    public struct Parameter: Equatable {
      /// Lower-cased: parameter names are case-insensitive (RFC 9110 §11.2).
      public let name: String
      /// Unquoted, with quoted-pair escapes resolved.
      public let value: String

      public init(name: String, value: String) {
        self.name = name
        self.value = value
      }
    }

    /// As sent; compare with `ASCII.equalsIgnoringCase` (schemes are case-insensitive).
    public let scheme: String
    public let token68: String?
    public let parameters: [Parameter]

    public func parameter(_ name: String) -> String? {
      for parameter in parameters where ASCII.equalsIgnoringCase(parameter.name, name) {
        return parameter.value
      }
      return nil
    }
  }

  /// Every challenge in one header value.
  public static func parse(_ value: String) throws(OAuthMessageError) -> [Challenge] {
    var parser = Parser(Array(value.utf8))
    guard parser.input.count <= maxLength else {
      throw .malformedHeader("WWW-Authenticate", reason: "longer than \(maxLength) bytes")
    }
    return try parser.challenges()
  }

  /// The server's error from the first `DPoP` challenge that names one, over
  /// every `WWW-Authenticate` field of a response. Fields that cannot be
  /// parsed are skipped: a broken `Bearer` challenge next to a good `DPoP`
  /// one must not hide it. `error_description` is sanitized by `OAuthError`.
  public static func dpopError(in headers: [HTTPHeader]) -> OAuthError? {
    for header in headers where ASCII.equalsIgnoringCase(header.name, "WWW-Authenticate") {
      let challenges: [Challenge]
      do throws(OAuthMessageError) {
        challenges = try parse(header.value)
      } catch {
        continue
      }
      for challenge in challenges where ASCII.equalsIgnoringCase(challenge.scheme, "DPoP") {
        if let code = challenge.parameter("error"), !code.isEmpty {
          return OAuthError(
            code: OAuthError.Code(code), errorDescription: challenge.parameter("error_description"))
        }
      }
    }
    return nil
  }

  private struct Parser {
    let input: [UInt8]
    var position = 0

    init(_ input: [UInt8]) { self.input = input }

    private var current: UInt8? { position < input.count ? input[position] : nil }

    private func failure(_ reason: String) -> OAuthMessageError {
      .malformedHeader("WWW-Authenticate", reason: "\(reason) at byte \(position)")
    }

    mutating func challenges() throws(OAuthMessageError) -> [Challenge] {
      var result: [Challenge] = []
      skipSeparators()
      while current != nil {
        guard result.count < maxChallenges else { throw failure("more than \(maxChallenges) challenges") }
        result.append(try challenge())
        skipSeparators()
      }
      return result
    }

    /// `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`; stops before the
    /// comma that precedes the next challenge.
    private mutating func challenge() throws(OAuthMessageError) -> Challenge {
      guard let scheme = token() else { throw failure("expected an auth-scheme") }
      guard current == 0x20 || current == 0x09 else {
        guard atElementEnd() else { throw failure("expected a space after the scheme") }
        return Challenge(scheme: scheme, token68: nil, parameters: [])
      }
      skipWhitespace()
      if atElementEnd() { return Challenge(scheme: scheme, token68: nil, parameters: []) }
      if let token68 = token68IfPresent() {
        return Challenge(scheme: scheme, token68: token68, parameters: [])
      }

      var parameters: [Challenge.Parameter] = []
      while true {
        guard parameters.count < maxParameters else { throw failure("more than \(maxParameters) parameters") }
        let parameter = try authParameter()
        for existing in parameters where existing.name.utf8.elementsEqual(parameter.name.utf8) {
          throw failure("parameter '\(LogSafeText.sanitize(parameter.name, limit: 32))' repeated")
        }
        parameters.append(parameter)
        skipWhitespace()
        guard current != nil else { break }
        guard current == UInt8(ascii: ",") else { throw failure("expected ','") }
        let beforeSeparators = position
        skipSeparators()
        guard current != nil else { break }
        // `name =` continues this challenge; any other token starts the next one.
        let mark = position
        _ = token()
        skipWhitespace()
        let isParameter = current == UInt8(ascii: "=")
        position = mark
        if !isParameter {
          position = beforeSeparators
          break
        }
      }
      return Challenge(scheme: scheme, token68: nil, parameters: parameters)
    }

    /// `token BWS "=" BWS ( token / quoted-string )`
    private mutating func authParameter() throws(OAuthMessageError) -> Challenge.Parameter {
      guard let name = token() else { throw failure("expected a parameter name") }
      skipWhitespace()
      guard current == UInt8(ascii: "=") else { throw failure("expected '='") }
      position += 1
      skipWhitespace()
      let value: String
      if current == UInt8(ascii: "\"") {
        value = try quotedString()
      } else if let plain = token() {
        value = plain
      } else {
        throw failure("expected a parameter value")
      }
      let lowered = name.utf8.map { ASCII.lowercased($0) }
      return Challenge.Parameter(name: String(decoding: lowered, as: UTF8.self), value: value)
    }

    /// A token68 is the whole rest of the element (`Basic dXNlcjpwdw==`); an
    /// auth-param (`error="x"`) is a token followed by `=` and a value.
    private mutating func token68IfPresent() -> String? {
      let start = position
      while let byte = current, isToken68Character(byte) { position += 1 }
      guard position > start else { return nil }
      while current == UInt8(ascii: "=") { position += 1 }
      let end = position
      skipWhitespace()
      if atElementEnd() { return String(decoding: input[start..<end], as: UTF8.self) }
      position = start
      return nil
    }

    private mutating func quotedString() throws(OAuthMessageError) -> String {
      position += 1
      var out: [UInt8] = []
      while true {
        guard let byte = current else { throw failure("unterminated quoted-string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""):
          return String(decoding: out, as: UTF8.self)
        case UInt8(ascii: "\\"):
          guard let escaped = current, escaped == 0x09 || escaped >= 0x20, escaped != 0x7f else {
            throw failure("bad quoted-pair")
          }
          out.append(escaped)
          position += 1
        case 0x09, 0x20...0x7e, 0x80...0xff:
          out.append(byte)
        default:
          throw failure("control character in quoted-string")
        }
      }
    }

    private mutating func token() -> String? {
      let start = position
      while let byte = current, isTokenCharacter(byte) { position += 1 }
      return position > start ? String(decoding: input[start..<position], as: UTF8.self) : nil
    }

    private func atElementEnd() -> Bool { current == nil || current == UInt8(ascii: ",") }

    private mutating func skipWhitespace() {
      while current == 0x20 || current == 0x09 { position += 1 }
    }

    /// OWS and commas: RFC 9110 §5.6.1 lets a list have empty elements.
    private mutating func skipSeparators() {
      while current == 0x20 || current == 0x09 || current == UInt8(ascii: ",") { position += 1 }
    }

    /// RFC 9110 §5.6.2 tchar.
    private func isTokenCharacter(_ byte: UInt8) -> Bool {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
      case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
      default: return false
      }
    }

    private func isToken68Character(_ byte: UInt8) -> Bool {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
        return true
      default: return false
      }
    }
  }
}
