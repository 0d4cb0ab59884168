/// Checks URLs the server hands the agent before the agent sends credentials
/// to them or shows them to the owner. A metadata document is the one place
/// an attacker who can alter a response could redirect client assertions and
/// refresh tokens, so only absolute https URLs with a plain host are accepted.
public enum EndpointURL {
  public static let maxLength = 2048

  /// Refuses anything but `https://host[:port][/path][?query]` in printable
  /// ASCII: other schemes (plain `http` only with `allowPlainHTTP`, a
  /// development setting), user info (`user@host` hides the real host from a
  /// reader), fragments (RFC 6749 §3.1 and §3.2 forbid them on endpoints),
  /// whitespace and control characters.
  public static func validate(
    _ url: String, field: String, allowPlainHTTP: Bool = false, allowQuery: Bool = true
  ) throws(OAuthMessageError) {
    let bytes = Array(url.utf8)
    guard bytes.count <= maxLength else {
      throw .invalidValue(field, reason: "URL longer than \(maxLength) bytes")
    }
    for byte in bytes where byte < 0x21 || byte > 0x7e {
      throw .invalidValue(field, reason: "URL has a space, control or non-ASCII character")
    }
    let authorityStart: Int
    if ASCII.hasPrefixIgnoringCase(url, "https://") {
      authorityStart = 8
    } else if allowPlainHTTP && ASCII.hasPrefixIgnoringCase(url, "http://") {
      authorityStart = 7
    } else {
      throw .invalidValue(field, reason: allowPlainHTTP ? "not an http(s) URL" : "not an https URL")
    }
    var end = authorityStart
    while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
      bytes[end] != UInt8(ascii: "#")
    {
      if bytes[end] == UInt8(ascii: "@") { throw .invalidValue(field, reason: "URL has user info") }
      end += 1
    }
    guard end > authorityStart, bytes[authorityStart] != UInt8(ascii: ":") else {
      throw .invalidValue(field, reason: "URL has no host")
    }
    for byte in bytes[end...] {
      if byte == UInt8(ascii: "#") { throw .invalidValue(field, reason: "URL has a fragment") }
      if byte == UInt8(ascii: "?") && !allowQuery { throw .invalidValue(field, reason: "URL has a query") }
    }
  }
}
