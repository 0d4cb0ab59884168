import AgentCore
import Testing

@Suite struct OAuthMetadataTests {
  private func metadataError(
    _ text: String, expectedIssuer: String = "https://server.example.com", allowPlainHTTP: Bool = false
  ) -> OAuthMessageError? {
    do throws(OAuthMessageError) {
      _ = try ServerMetadata.parse(
        Array(text.utf8), expectedIssuer: expectedIssuer, allowPlainHTTP: allowPlainHTTP)
      return nil
    } catch {
      return error
    }
  }

  /// RFC 8414 §3.2's example, plus the device authorization endpoint RFC 8628 §4 adds.
  private let rfc8414Example = """
    {
     "issuer":
       "https://server.example.com",
     "authorization_endpoint":
       "https://server.example.com/authorize",
     "token_endpoint":
       "https://server.example.com/token",
     "token_endpoint_auth_methods_supported":
       ["client_secret_basic", "private_key_jwt"],
     "token_endpoint_auth_signing_alg_values_supported":
       ["RS256", "ES256"],
     "userinfo_endpoint":
       "https://server.example.com/userinfo",
     "jwks_uri":
       "https://server.example.com/jwks.json",
     "registration_endpoint":
       "https://server.example.com/register",
     "scopes_supported":
       ["openid", "profile", "email", "address",
        "phone", "offline_access"],
     "response_types_supported":
       ["code", "code token"],
     "service_documentation":
       "http://server.example.com/service_documentation.html",
     "ui_locales_supported":
       ["en-US", "en-GB", "en-CA", "fr-FR", "fr-CA"]
    DEVICE}
    """

  private func example(
    device: String = #","device_authorization_endpoint":"https://server.example.com/device""#
  )
    -> String
  {
    let parts = rfc8414Example.split(separator: "DEVICE", omittingEmptySubsequences: false)
    return parts[0] + device + parts[1]
  }

  @Test func rfc8414ExampleWithDeviceEndpoint() throws {
    let metadata = try ServerMetadata.parse(
      Array(example().utf8), expectedIssuer: "https://server.example.com")
    #expect(metadata.issuer == "https://server.example.com")
    #expect(metadata.tokenEndpoint == "https://server.example.com/token")
    #expect(metadata.deviceAuthorizationEndpoint == "https://server.example.com/device")
    #expect(metadata.revocationEndpoint == nil)
  }

  /// The RFC example as is has no device endpoint: the agent cannot activate with it.
  @Test func rfc8414ExampleWithoutDeviceEndpointIsRefused() {
    #expect(metadataError(example(device: "")) == .json(.missing("device_authorization_endpoint")))
  }

  /// What the reference cloud publishes (Tests/refcloud/oauth.py build_metadata).
  @Test func referenceCloudDocument() throws {
    let issuer = "https://127.0.0.1:8443"
    let text = """
      {"issuer": "\(issuer)", "device_authorization_endpoint": "\(issuer)/oauth/device_authorization",
       "token_endpoint": "\(issuer)/oauth/token", "revocation_endpoint": "\(issuer)/oauth/revoke",
       "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
       "token_endpoint_auth_methods_supported": ["private_key_jwt"],
       "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
       "revocation_endpoint_auth_methods_supported": ["private_key_jwt"],
       "revocation_endpoint_auth_signing_alg_values_supported": ["ES256"],
       "dpop_signing_alg_values_supported": ["ES256"],
       "camera_report_endpoint": "\(issuer)/v1/devices/"}
      """
    let metadata = try ServerMetadata.parse(Array(text.utf8), expectedIssuer: issuer)
    #expect(
      metadata
        == ServerMetadata(
          issuer: issuer, tokenEndpoint: issuer + "/oauth/token",
          deviceAuthorizationEndpoint: issuer + "/oauth/device_authorization",
          revocationEndpoint: issuer + "/oauth/revoke"))
  }

  private func document(
    issuer: String = "https://server.example.com", token: String = "https://server.example.com/token",
    extra: String = ""
  ) -> String {
    #"{"issuer":"\#(issuer)","token_endpoint":"\#(token)","device_authorization_endpoint":"https://server.example.com/device"\#(extra)}"#
  }

  /// RFC 8414 §3.3: identical, byte for byte, or refused.
  @Test(arguments: [
    "https://server.example.com/", "https://Server.example.com", "HTTPS://server.example.com",
    "https://server.example.com:443", "https://evil.example.com", "https://server.example.com/tenant",
  ])
  func issuerMustBeIdentical(issuer: String) {
    #expect(
      metadataError(document(issuer: issuer))
        == .issuerMismatch(expected: "https://server.example.com", actual: issuer))
  }

  @Test func mismatchedIssuerIsSanitizedForLogs() {
    let error = metadataError(document(issuer: #"https://evil\r\n\u001b[31m"#))
    #expect(error == .issuerMismatch(expected: "https://server.example.com", actual: "https://evil???[31m"))
  }

  @Test(
    arguments: [
      ("http://server.example.com/token", "not an https URL"),
      ("ftp://server.example.com/token", "not an https URL"),
      ("/token", "not an https URL"),
      ("https://", "URL has no host"),
      ("https:///token", "URL has no host"),
      ("https://:443/token", "URL has no host"),
      ("https://user@evil.example/token", "URL has user info"),
      ("https://server.example.com/token#x", "URL has a fragment"),
      ("https://server.example.com/to ken", "URL has a space, control or non-ASCII character"),
      ("https://server.example.com/t\\u00e9", "URL has a space, control or non-ASCII character"),
      ("https://server.example.com/\\n", "URL has a space, control or non-ASCII character"),
    ])
  func endpointsMustBeHTTPS(token: String, reason: String) {
    #expect(metadataError(document(token: token)) == .invalidValue("token_endpoint", reason: reason))
  }

  @Test func plainHTTPOnlyWithTheDevelopmentFlag() throws {
    let text = document(issuer: "http://127.0.0.1:8080", token: "http://127.0.0.1:8080/token")
    #expect(
      metadataError(text, expectedIssuer: "http://127.0.0.1:8080")
        == .invalidValue("issuer", reason: "not an https URL"))
    let metadata = try ServerMetadata.parse(
      Array(text.utf8), expectedIssuer: "http://127.0.0.1:8080", allowPlainHTTP: true)
    #expect(metadata.tokenEndpoint == "http://127.0.0.1:8080/token")
    #expect(
      metadataError(document(token: "ftp://x/token"), allowPlainHTTP: true)
        == .invalidValue("token_endpoint", reason: "not an http(s) URL"))
  }

  @Test func everyEndpointIsChecked() {
    #expect(
      metadataError(document(extra: #","revocation_endpoint":"http://server.example.com/revoke""#))
        == .invalidValue("revocation_endpoint", reason: "not an https URL"))
    // A member no RFC registers is not read, whatever it holds.
    #expect(metadataError(document(extra: #","camera_report_endpoint":"https://a@b/""#)) == nil)
    #expect(
      metadataError(
        document(issuer: "https://server.example.com?x=1"), expectedIssuer: "https://server.example.com?x=1")
        == .invalidValue("issuer", reason: "URL has a query"))
    let long = "https://server.example.com/" + String(repeating: "a", count: 2048)
    #expect(
      metadataError(document(token: long))
        == .invalidValue("token_endpoint", reason: "URL longer than 2048 bytes"))
  }

  @Test func capabilitiesTheAgentNeeds() throws {
    #expect(
      metadataError(document(extra: #","dpop_signing_alg_values_supported":["RS256","PS256"]"#))
        == .invalidValue("dpop_signing_alg_values_supported", reason: "does not include ES256"))
    #expect(
      metadataError(document(extra: #","token_endpoint_auth_methods_supported":["client_secret_basic"]"#))
        == .invalidValue("token_endpoint_auth_methods_supported", reason: "does not include private_key_jwt"))
    #expect(
      metadataError(document(extra: #","dpop_signing_alg_values_supported":"ES256""#))
        == .json(.wrongType("dpop_signing_alg_values_supported", expected: .array)))
    _ = try ServerMetadata.parse(
      Array(document(extra: #","dpop_signing_alg_values_supported":["PS256","ES256"]"#).utf8),
      expectedIssuer: "https://server.example.com")
  }

  @Test(
    arguments: [
      (#"{"issuer":1}"#, OAuthMessageError.json(.wrongType("issuer", expected: .string))),
      (#"{"issuer":null}"#, .json(.wrongType("issuer", expected: .string))),
      (#"{"token_endpoint":"https://a/t"}"#, .json(.missing("issuer"))),
      (#"{"issuer":"https://server.example.com"}"#, .json(.missing("token_endpoint"))),
      (
        #"{"issuer":"https://server.example.com","token_endpoint":["https://a/t"]}"#,
        .json(.wrongType("token_endpoint", expected: .string))
      ),
      ("[]", .json(.wrongType("(document)", expected: .object))),
      ("", .json(.syntax(offset: 0, expected: "a value"))),
      ("<html>", .json(.syntax(offset: 0, expected: "a value"))),
      (#"{"issuer":"a","issuer":"b"}"#, .json(.duplicateKey(offset: 14))),
    ])
  func malformedDocuments(text: String, expected: OAuthMessageError) {
    #expect(metadataError(text) == expected)
  }

  @Test func hostileSizesAreRefused() {
    let huge = [UInt8](repeating: UInt8(ascii: "["), count: 10 * 1024 * 1024)
    do throws(OAuthMessageError) {
      _ = try ServerMetadata.parse(huge, expectedIssuer: "https://server.example.com")
      Issue.record("a 10 MB body was accepted")
    } catch {
      #expect(error == .json(.tooLarge(size: 10 * 1024 * 1024, limit: 64 * 1024)))
    }
    #expect(
      metadataError(String(repeating: "[", count: 1000)) == .json(.tooDeep(offset: 16, limit: 16)))
  }

  /// RFC 8414 §3.1: the well-known segment goes between host and path.
  @Test(arguments: [
    ("https://server.example.com", "https://server.example.com/.well-known/oauth-authorization-server"),
    ("https://server.example.com/", "https://server.example.com/.well-known/oauth-authorization-server"),
    ("https://example.com/issuer1", "https://example.com/.well-known/oauth-authorization-server/issuer1"),
    ("https://example.com/a/b/", "https://example.com/.well-known/oauth-authorization-server/a/b"),
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443/.well-known/oauth-authorization-server"),
  ])
  func metadataURL(issuer: String, url: String) {
    #expect(ServerMetadata.metadataURL(issuer: issuer) == url)
  }
}
