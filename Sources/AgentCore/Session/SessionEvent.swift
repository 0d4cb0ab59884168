/// What can happen to a session. Delays that need randomness or policy
/// (the re-authentication spread, backoff with jitter) are decided by the
/// caller from the storm policy and carried in the event, so the transition
/// function stays pure. Every time is in milliseconds (see `SessionMachine`).
public enum SessionEvent: Equatable {
  /// At start-up, from the vault: identity only, or identity and tokens.
  case loadedIdentityOnly
  case loadedTokens(accessExpiresAt: Int64)
  /// The vault holds no identity (never provisioned, or wiped).
  case loadedNothing
  /// The device authorization endpoint issued a code.
  case deviceCodeIssued(PendingApproval)
  /// Token endpoint poll answers (RFC 8628 §3.5).
  case authorizationPending
  case slowDown
  case accessDenied
  case expiredToken
  /// The owner approved; the new tokens are committed to the vault.
  case approved(accessExpiresAt: Int64)
  /// The new refresh token is committed to the vault.
  case refreshed(accessExpiresAt: Int64)
  /// `invalid_grant` on refresh or `invalid_token` on the API: the cloud
  /// ended the session (a mass logout). `startDelay` is the spread-window
  /// delay from the storm policy, in milliseconds.
  case revoked(startDelay: Int64)
  /// A network error, 5xx or 429: try the same step again after `retryIn`
  /// milliseconds (backoff with full jitter, or Retry-After, from the storm
  /// policy; sub-second jitter is kept, so a fleet that failed in the same
  /// instant does not retry in the same instant).
  case transientFailure(retryIn: Int64)
  /// The clock moved on (a timer fired).
  case tick
}

/// What the driver must do after a transition.
public enum SessionAction: Equatable {
  /// Ask the device authorization endpoint for a device code.
  case requestDeviceCode
  /// Poll the token endpoint with the device code.
  case pollToken
  /// Refresh the access token.
  case refresh
  /// Destroy the old tokens and DPoP key in the vault (before anything else).
  case destroyTokens
  /// Make a new DPoP session key for the coming activation.
  case newSessionKey
  /// Publish `user_code` and `verification_uri` on the local state interface.
  case publishApproval(PendingApproval)
  /// Nothing to do until the next event.
  case wait
}
