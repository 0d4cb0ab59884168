/// One poll of the RFC 8628 token endpoint (§3.4, §3.5).
public enum DevicePollOutcome {
  /// The owner approved: the first tokens of a new session.
  case tokens(TokenResponse)
  /// `authorization_pending`: poll again after the interval.
  case pending
  /// `slow_down`: poll again after the interval plus 5 s, for good.
  case slowDown
  /// `access_denied`: the owner refused; a new device code is needed.
  case denied
  /// `expired_token`: the device code lapsed; a new device code is needed.
  case expired
}

/// One refresh (RFC 6749 §6).
public enum RefreshOutcome {
  /// New tokens. Commit the new refresh token before using the access token.
  case tokens(TokenResponse)
  /// `invalid_grant`: the session was revoked (mass logout, reuse detection,
  /// unpairing); destroy the tokens and session key, then re-activate.
  case revoked(OAuthError)
}

/// One status report to the maker's API.
public enum ReportOutcome: Equatable {
  case accepted
  /// 401 `invalid_token` (RFC 6750 §3.1 / RFC 9449 §7.1): the access token is
  /// no longer honoured; refresh, and re-activate if that fails too.
  case tokenRejected(OAuthError)
}
