extension StormPolicy {
  /// What went wrong with a request, as far as retrying is concerned.
  public enum Failure: Equatable, Sendable {
    /// No HTTP answer: DNS, connect, TLS or timeout.
    case networkError
    /// A 5xx answer. `retryAfterSeconds` is the parsed `Retry-After` (see
    /// `RetryAfter.delaySeconds`); it is honoured on 503 only (RFC 9110 §15.6.4).
    case serverError(status: Int, retryAfterSeconds: Int64? = nil)
    /// 429 Too Many Requests (RFC 6585 §4), with its parsed `Retry-After`.
    case tooManyRequests(retryAfterSeconds: Int64?)
    /// The device-grant `slow_down` error (RFC 8628 §3.5).
    case slowDown
    /// The server refused the credential: `invalid_grant`, `invalid_token`,
    /// `invalid_client`, an expired device code. Never retried as is.
    case authenticationFailed
  }
}
