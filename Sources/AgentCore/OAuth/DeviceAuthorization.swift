/// The RFC 8628 §3.2 device authorization response: the codes the owner
/// types on the phone and the device then polls with.
///
/// `userCode` and the verification URIs are published on the local state
/// interface and passed to a hook script, so they are held to narrow
/// alphabets and bounded lengths: the user code to RFC 8628 §6.1's letters,
/// digits and dashes, the URIs to an https URL of RFC 3986 characters (no
/// backtick, `|`, quote or space). What a URI may still hold (`$`, `(`,
/// `;`, `&`, `'`) is quoted by `StateFile`, so sourcing the file runs nothing. There is deliberately no
/// `description`: `deviceCode` is the polling credential.
public struct DeviceAuthorization {
  /// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
  public static let defaultInterval: Int64 = 5
  /// A larger interval from the server is clamped here, so a typo on the
  /// server cannot park a camera for days.
  public static let maxInterval: Int64 = 600
  /// Longest device code lifetime accepted (a day); the poller stops at expiry.
  public static let maxExpiresIn: Int64 = 86_400
  /// RFC 8628 §6.1: codes are short so people can type them; 8 is typical.
  public static let maxUserCodeLength = 32
  public static let maxDeviceCodeLength = 1024

  public let deviceCode: String
  public let userCode: String
  public let verificationURI: String
  public let verificationURIComplete: String?
  /// Seconds the codes stay valid, from the response.
  public let expiresIn: Int64
  /// Seconds between polls, in 1...maxInterval.
  public let interval: Int64

  public init(
    deviceCode: String, userCode: String, verificationURI: String, verificationURIComplete: String?,
    expiresIn: Int64, interval: Int64
  ) {
    self.deviceCode = deviceCode
    self.userCode = userCode
    self.verificationURI = verificationURI
    self.verificationURIComplete = verificationURIComplete
    self.expiresIn = expiresIn
    self.interval = interval
  }

  /// Parses a 200 response body of the device authorization endpoint.
  /// `allowPlainHTTP` (development) lets the verification URIs be `http://`.
  public static func parse(
    _ body: [UInt8], allowPlainHTTP: Bool = false, limits: JSONReader.Limits = JSONReader.Limits()
  ) throws(OAuthMessageError) -> DeviceAuthorization {
    let raw: DeviceAuthorization
    do throws(JSONError) {
      let object = try JSONReader.parseObject(body, limits: limits)
      raw = DeviceAuthorization(
        deviceCode: try object.requiredString("device_code"),
        userCode: try object.requiredString("user_code"),
        verificationURI: try object.requiredString("verification_uri"),
        verificationURIComplete: try object.optionalString("verification_uri_complete"),
        expiresIn: try object.requiredInt("expires_in"),
        interval: try object.optionalInt("interval") ?? defaultInterval)
    } catch {
      throw .json(error)
    }
    // Held to VSCHARs like RFC 6749 Appendix A grant values: the device code
    // goes into form bodies, the user code into the state file and hook.
    guard TokenSyntax.isVisibleASCII(raw.deviceCode, maxLength: maxDeviceCodeLength) else {
      throw .invalidValue("device_code", reason: "empty, too long, or not printable ASCII")
    }
    guard TokenSyntax.isUserCode(raw.userCode, maxLength: maxUserCodeLength) else {
      throw .invalidValue(
        "user_code",
        reason: "empty, longer than \(maxUserCodeLength) bytes, or not A-Z a-z 0-9 - (RFC 8628 §6.1)")
    }
    try validateShownURI(raw.verificationURI, field: "verification_uri", allowPlainHTTP: allowPlainHTTP)
    if let complete = raw.verificationURIComplete {
      try validateShownURI(complete, field: "verification_uri_complete", allowPlainHTTP: allowPlainHTTP)
    }
    guard raw.expiresIn > 0, raw.expiresIn <= maxExpiresIn else {
      throw .invalidValue("expires_in", reason: "must be 1...\(maxExpiresIn) seconds")
    }
    guard raw.interval >= 0 else { throw .invalidValue("interval", reason: "negative") }
    // Never hot-polls, even when a server says 0.
    let interval = min(max(raw.interval, 1), maxInterval)
    return DeviceAuthorization(
      deviceCode: raw.deviceCode, userCode: raw.userCode, verificationURI: raw.verificationURI,
      verificationURIComplete: raw.verificationURIComplete, expiresIn: raw.expiresIn, interval: interval)
  }

  /// An endpoint-shaped https URL (`EndpointURL`) whose every byte is an
  /// RFC 3986 URI character.
  static func validateShownURI(_ uri: String, field: String, allowPlainHTTP: Bool) throws(OAuthMessageError) {
    try EndpointURL.validate(uri, field: field, allowPlainHTTP: allowPlainHTTP)
    for byte in uri.utf8 where !TokenSyntax.isURICharacter(byte) {
      throw .invalidValue(field, reason: "URL has a character RFC 3986 does not allow")
    }
  }
}
