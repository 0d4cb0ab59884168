/// Where a server publishes its metadata: RFC 8414 §3.1 (authorization
/// server) and RFC 9728 §3.1 (protected resource) both insert the well-known
/// segment between the host and any path of the identifier, so that several
/// issuers or resources can share one host.
public enum WellKnownURL {
  /// `https://host[:port]` + `wellKnownPath` + the identifier's path, without
  /// a trailing slash ("https://a/" and "https://a" share one URL). Query
  /// and fragment are not expected: identifiers are checked before this.
  public static func make(identifier: String, wellKnownPath: String) -> String {
    let bytes = Array(identifier.utf8)
    guard let pathStart = pathStart(bytes) else { return identifier + wellKnownPath }
    var pathEnd = bytes.count
    if pathEnd > pathStart, bytes[pathEnd - 1] == UInt8(ascii: "/") { pathEnd -= 1 }
    let origin = String(decoding: bytes[0..<pathStart], as: UTF8.self)
    let path = pathEnd > pathStart ? String(decoding: bytes[pathStart..<pathEnd], as: UTF8.self) : ""
    return origin + wellKnownPath + path
  }

  /// `scheme://host[:port]` of a URL, or nil when it has no `://`.
  public static func origin(_ url: String) -> String? {
    let bytes = Array(url.utf8)
    guard let end = pathStart(bytes) else { return nil }
    return String(decoding: bytes[0..<end], as: UTF8.self)
  }

  /// Index of the first byte after the authority (the path's `/`, or the end).
  static func pathStart(_ bytes: [UInt8]) -> Int? {
    var index = 0
    while index + 2 < bytes.count {
      if bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: "/"),
        bytes[index + 2] == UInt8(ascii: "/")
      {
        var end = index + 3
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
          bytes[end] != UInt8(ascii: "#")
        {
          end += 1
        }
        return end
      }
      index += 1
    }
    return nil
  }
}
