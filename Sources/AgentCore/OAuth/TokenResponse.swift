/// A successful RFC 6749 §5.1 token response, from the device code grant or
/// a refresh. The tokens are handed over as `SecretBytes` for the vault.
public struct TokenResponse {
  /// Tokens must fit a vault record next to the keys; real ones are far shorter.
  public static let maxTokenLength = 4096
  /// Longest access token lifetime accepted (30 days).
  public static let maxExpiresIn: Int64 = 30 * 86_400

  public let accessToken: SecretBytes
  /// Seconds the access token is valid; nil when the server did not say
  /// (RFC 6749 makes it RECOMMENDED, not REQUIRED).
  public let expiresIn: Int64?
  /// Absent when the server does not rotate (RFC 6749 §6: the client keeps
  /// the one it has).
  public let refreshToken: SecretBytes?

  public init(accessToken: SecretBytes, expiresIn: Int64?, refreshToken: SecretBytes?) {
    self.accessToken = accessToken
    self.expiresIn = expiresIn
    self.refreshToken = refreshToken
  }

  /// Parses a 200 token endpoint body.
  ///
  /// `token_type` must be `DPoP` (compared case-insensitively, RFC 6749
  /// §5.1/RFC 9449 §5): a `Bearer` token would mean the server ignored the
  /// proof and issued an unbound token, which the agent refuses to use.
  /// `access_token` must be a `token68` (RFC 9110 §11.2), the syntax of the
  /// `Authorization: DPoP` header it goes into, so it cannot split a header.
  public static func parse(
    _ body: [UInt8], limits: JSONReader.Limits = JSONReader.Limits()
  ) throws(OAuthMessageError) -> TokenResponse {
    // The tokens go from the body's bytes straight into SecretBytes: never
    // a String (the caller zeroes the body itself once this returns).
    let accessToken: SecretBytes
    let tokenType: String
    let expiresIn: Int64?
    let refreshToken: SecretBytes?
    do throws(JSONError) {
      let parsed = try JSONReader.parseObject(
        body, secretMembers: ["access_token", "refresh_token"], limits: limits)
      accessToken = try parsed.requiredSecret("access_token")
      refreshToken = try parsed.optionalSecret("refresh_token")
      tokenType = try parsed.object.requiredString("token_type")
      expiresIn = try parsed.object.optionalInt("expires_in")
    } catch {
      throw .json(error)
    }
    guard ASCII.equalsIgnoringCase(tokenType, "DPoP") else {
      throw .invalidValue("token_type", reason: "'\(LogSafeText.sanitize(tokenType, limit: 32))' is not DPoP")
    }
    guard accessToken.withUnsafeBytes({ TokenSyntax.isToken68(bytes: $0, maxLength: maxTokenLength) }) else {
      throw .invalidValue("access_token", reason: "empty, too long, or not token68 syntax")
    }
    if let expiresIn, expiresIn <= 0 || expiresIn > maxExpiresIn {
      throw .invalidValue("expires_in", reason: "must be 1...\(maxExpiresIn) seconds")
    }
    // RFC 6749 Appendix A.17: refresh-token = 1*VSCHAR.
    if let refreshToken,
      !refreshToken.withUnsafeBytes({ TokenSyntax.isVisibleASCII(bytes: $0, maxLength: maxTokenLength) })
    {
      throw .invalidValue("refresh_token", reason: "empty, too long, or not printable ASCII")
    }
    return TokenResponse(accessToken: accessToken, expiresIn: expiresIn, refreshToken: refreshToken)
  }
}
