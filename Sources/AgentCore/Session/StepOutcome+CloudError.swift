extension StepOutcome {
  /// What a failed cloud step means to the policy. Only the codes the
  /// RFCs give a meaning the device must act on are singled out; every other
  /// refusal, an unusable answer, or no answer at all may pass, and backs off.
  public static func classify(_ error: CloudError) -> StepOutcome {
    switch error {
    case .transport:
      return .unavailable(.network)
    case .unavailable(let status, let retryAfterSeconds):
      let milliseconds = retryAfterSeconds.map { $0 > Int64.max / 1_000 ? Int64.max : $0 * 1_000 }
      return status == 429
        ? .unavailable(.tooManyRequests(retryAfterMs: milliseconds))
        : .unavailable(.server(status: status, retryAfterMs: milliseconds))
    case .rejected(_, let oauth):
      switch oauth.code {
      case .invalidGrant: return .sessionEnded
      case .invalidToken: return .tokenRejected
      case .invalidClient, .unauthorizedClient: return .clientRefused
      case .slowDown: return .slowDown
      case .accessDenied: return .denied
      case .expiredToken: return .expired
      case .authorizationPending: return .pending
      case .invalidRequest, .unsupportedGrantType, .invalidScope, .serverError, .temporarilyUnavailable,
        .useDPoPNonce, .invalidDPoPProof, .insufficientScope, .unsupportedTokenType, .unknown:
        return .unavailable(.network)
      }
    case .unexpectedStatus, .malformedResponse, .crypto, .notDiscovered, .endpointMissing:
      return .unavailable(.network)
    }
  }
}
