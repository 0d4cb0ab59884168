/// Which cloud a vault's session belongs to. Tokens are sent only to the
/// issuer that issued them (its token and revocation endpoints) and the
/// report API they were obtained for: a changed `server =` must never hand
/// the old refresh token to the new server, which could be anyone's.
///
/// The vault records the issuer and API base with the tokens (tags 10, 11);
/// `check` compares them with the configuration before any request is made.
/// Callers: `RunCommand` before the daemon starts, `WipeCommand` before it
/// revokes, and the daemon before it adopts a configuration on SIGHUP; every
/// commit that stores tokens goes through `record`.
public enum SessionBinding {
  public enum Verdict: Equatable {
    /// No session tokens, or tokens of the configured issuer and API: go on.
    case matches
    /// Tokens in a record written before the binding existed (no tag 10):
    /// they are taken to belong to the configured issuer, recorded at once.
    /// Refusing them would send every upgraded camera back to its owner.
    case unrecorded
    /// Same issuer, another report API: the stored access token must not
    /// reach the new API. It is discarded (expired), the session refreshes at
    /// the issuer and gets one for the configured API.
    case apiBaseChanged(recorded: String, configured: String)
    /// Another issuer: nothing of this session may go to the configured
    /// server. Only `camera-agent reauth` (a new owner-approved activation at
    /// the new server) or restoring the old `server =` goes on.
    case issuerChanged(recorded: String, configured: String)
  }

  /// Whether `contents`' session may be used with `config`. Compared byte for
  /// byte, as RFC 8414 §3.3 compares issuers.
  public static func check(_ contents: VaultContents, config: AgentConfig) -> Verdict {
    guard holdsSession(contents) else { return .matches }
    guard let issuer = contents.sessionIssuer else { return .unrecorded }
    if !issuer.utf8.elementsEqual(config.server.utf8) {
      return .issuerChanged(recorded: issuer, configured: config.server)
    }
    let api = config.effectiveAPIBase
    if let recorded = contents.sessionAPIBase, !recorded.utf8.elementsEqual(api.utf8) {
      return .apiBaseChanged(recorded: recorded, configured: api)
    }
    return .matches
  }

  /// Stamps the configured issuer and API base on contents that hold
  /// tokens, and clears them from contents that hold none. Every commit of
  /// session tokens calls this, so the record always names their server.
  public static func record(_ contents: inout VaultContents, config: AgentConfig) {
    if holdsSession(contents) {
      contents.sessionIssuer = config.server
      contents.sessionAPIBase = config.effectiveAPIBase
    } else {
      contents.sessionIssuer = nil
      contents.sessionAPIBase = nil
    }
  }

  /// What the operator reads for `issuerChanged`: what happened, that
  /// nothing was sent, and the two ways on.
  public static func refusal(recorded: String, configured: String) -> String {
    "the vault's session was issued by '\(LogSafeText.sanitize(recorded, limit: 200))', "
      + "but server = '\(LogSafeText.sanitize(configured, limit: 200))': its tokens are not sent to another server. "
      + "To move this camera to the new server run 'camera-agent reauth' (the owner approves it again); "
      + "to keep the session, set server back"
  }

  /// Applies the verdict's repair to `contents` before the daemon starts:
  /// the binding recorded for `unrecorded`, the access token expired for
  /// `apiBaseChanged`. Returns nil when nothing needs committing.
  public static func repaired(_ contents: VaultContents, config: AgentConfig) -> VaultContents? {
    var updated = contents
    switch check(contents, config: config) {
    case .matches, .issuerChanged:
      return nil
    case .unrecorded:
      break
    case .apiBaseChanged:
      // Expired, not removed: a vault with a refresh token and an expired
      // access token starts with a refresh (no owner needed), and the
      // refreshed token replaces this one before any report.
      updated.accessTokenExpiry = 0
    }
    record(&updated, config: config)
    return updated
  }

  /// Why a running daemon must not adopt `config` (SIGHUP) while it holds
  /// `contents`' session, or nil when it may. A changed API base is refused
  /// too: the access token in memory belongs to the old API; a restart
  /// (`RunCommand`) moves the session over.
  public static func reloadRefusal(_ contents: VaultContents, config: AgentConfig) -> String? {
    switch check(contents, config: config) {
    case .matches, .unrecorded:
      return nil
    case .issuerChanged(let recorded, let configured):
      return refusal(recorded: recorded, configured: configured)
    case .apiBaseChanged(let recorded, let configured):
      return
        "api_base changed from '\(recorded)' to '\(configured)' under a live session: restart the agent to adopt it"
    }
  }

  static func holdsSession(_ contents: VaultContents) -> Bool {
    contents.refreshToken != nil || contents.accessToken != nil
  }
}
