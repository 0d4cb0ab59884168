/// Why a protocol step with the cloud did not produce its expected outcome.
/// The outcomes a step is built to report (a pending device grant, a revoked
/// refresh token, ...) are return values, not errors; see `CloudOutcome.swift`.
public enum CloudError: Error, Equatable, CustomStringConvertible {
  /// No usable HTTP answer: connect, TLS, timeout, the response size cap, a
  /// refused redirect (the transport's own error).
  case transport(HTTPError)
  /// 429 or 5xx, whatever the body says, with the parsed `Retry-After`.
  case unavailable(status: Int, retryAfterSeconds: Int64?)
  /// The server refused the request with an OAuth error (RFC 6749 §5.2
  /// body, or the `error` of a `WWW-Authenticate: DPoP` challenge).
  case rejected(status: Int, OAuthError)
  /// A status the step does not expect and no OAuth error to explain it.
  case unexpectedStatus(Int)
  /// The answer was not a message the agent accepts (bad JSON, a `Bearer`
  /// token, an http endpoint, another issuer, ...).
  case malformedResponse(status: Int, OAuthMessageError)
  /// Signing an assertion or a proof failed (OpenSSL or the random source).
  case crypto(CryptoError)
  /// The step needs the server metadata: run `discover()` first.
  case notDiscovered
  /// The metadata has no such endpoint (its RFC 8414 member name).
  case endpointMissing(String)

  public var description: String {
    switch self {
    case .transport(let error): return "transport: \(error.description)"
    case .unavailable(let status, let retryAfter):
      guard let retryAfter else { return "server unavailable (\(status))" }
      return "server unavailable (\(status)), retry after \(retryAfter) s"
    case .rejected(let status, let error): return "refused (\(status)): \(error.description)"
    case .unexpectedStatus(let status): return "unexpected HTTP status \(status)"
    case .malformedResponse(let status, let error):
      return "unusable response (\(status)): \(error.description)"
    case .crypto(let error): return "signing failed: \(error.description)"
    case .notDiscovered: return "server metadata not fetched yet"
    case .endpointMissing(let name): return "server metadata has no \(name)"
    }
  }
}
