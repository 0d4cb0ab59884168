/// Which audiences `attest` signs for. Its JWS has the shape of an RFC 7523
/// client assertion, which a token endpoint accepts when `aud` names it or
/// its issuer; a station that could choose any audience could mint a login
/// for this device. So the rule is positive: the audience must be this
/// board's factory verify URL (the path ends in
/// `/factory/devices/<device id>/verify`, which no OAuth endpoint is), and
/// as a second fence it must not be the configured issuer in any spelling.
public enum AttestAudience {
  /// Why `audience` is refused for `deviceID`, or nil when it may be signed
  /// for. `issuer` is the configured `server` ("" when unset).
  public static func refusal(_ audience: String, deviceID: String, issuer: String) -> String? {
    if !issuer.isEmpty, Word(normalized(audience)) == Word(normalized(issuer)) {
      return "the audience is the issuer: an assertion for it would log in as this device; refused"
    }
    guard let origin = WellKnownURL.origin(audience) else { return "the audience is not an absolute URL" }
    let path = String(decoding: Array(audience.utf8)[origin.utf8.count...], as: UTF8.self)
    let suffix = "/factory/devices/" + deviceID + "/verify"
    guard Word.hasSuffix(path, suffix) else {
      return "the audience must be this board's factory verify URL (.../factory/devices/\(deviceID)/verify), "
        + "not a token endpoint, the issuer or any other URL; refused"
    }
    return nil
  }

  /// Scheme and host lower case, a default port and trailing slashes
  /// dropped: the spellings a server may treat as the same audience.
  public static func normalized(_ url: String) -> String {
    var bytes = Array(url.utf8)
    let originEnd = WellKnownURL.pathStart(bytes) ?? bytes.count
    for index in 0..<originEnd where bytes[index] >= UInt8(ascii: "A") && bytes[index] <= UInt8(ascii: "Z") {
      bytes[index] += 32
    }
    var origin = String(decoding: bytes[0..<originEnd], as: UTF8.self)
    if ASCII.hasPrefixIgnoringCase(origin, "https://"), origin.utf8.count > 12, Word.hasSuffix(origin, ":443")
    {
      origin = String(decoding: Array(origin.utf8).dropLast(4), as: UTF8.self)
    }
    var path = Array(bytes[originEnd...])
    while path.last == UInt8(ascii: "/") { path.removeLast() }
    return origin + String(decoding: path, as: UTF8.self)
  }
}
