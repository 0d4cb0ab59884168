/// The one transition function of the session. Pure: the same state, event
/// and time always give the same result. Every time and duration it sees is
/// in milliseconds since the epoch (the corrected clock), so backoff jitter
/// keeps its sub-second spread.
public enum SessionMachine {
  /// Milliseconds before expiry at which the access token is refreshed.
  public static let refreshMargin: Int64 = 30_000
  /// What each `slow_down` adds to the polling interval (RFC 8628 §3.5: 5 s).
  public static let slowDownStep: Int64 = 5_000

  public static func next(_ state: SessionState, _ event: SessionEvent, now: Int64)
    -> (SessionState, SessionAction)
  {
    switch (state, event) {
    // Start-up: whatever the vault holds decides where we begin.
    case (_, .loadedNothing):
      return (.unprovisioned, .wait)
    case (_, .loadedIdentityOnly):
      return (.activationPending(nil), .requestDeviceCode)
    case (_, .loadedTokens(let expiresAt)):
      return expiresAt - refreshMargin <= now
        ? (.refreshing, .refresh) : (.active(accessExpiresAt: expiresAt), .wait)

    // A revocation ends the session from any state that holds one.
    case (.active, .revoked(let delay)), (.refreshing, .revoked(let delay)):
      return (.reauthRequired(startAt: now + max(0, delay)), .destroyTokens)
    case (.backoff(_, _, let resume), .revoked(let delay)) where resume == .refreshing || isActive(resume):
      return (.reauthRequired(startAt: now + max(0, delay)), .destroyTokens)

    // Waiting out the spread window, then a fresh key and a fresh device grant.
    case (.reauthRequired(let startAt), .tick):
      return now >= startAt ? (.reauthPending(nil), .newSessionKey) : (state, .wait)

    // Device grant (activation and re-activation share the mechanics).
    case (.activationPending(let pending), _):
      return grant(
        pending, event, now: now, wrap: { .activationPending($0) }, restart: .activationPending(nil),
        original: state)
    case (.reauthPending(let pending), _):
      return grant(
        pending, event, now: now, wrap: { .reauthPending($0) }, restart: .reauthPending(nil), original: state)

    // Refresh cycle.
    case (.active(let expiresAt), .tick):
      return expiresAt - refreshMargin <= now ? (.refreshing, .refresh) : (state, .wait)
    case (.refreshing, .refreshed(let expiresAt)):
      return (.active(accessExpiresAt: expiresAt), .wait)
    case (.refreshing, .transientFailure(let retryIn)):
      return (.backoff(retryAt: now + max(1, retryIn), attempt: 1, resume: .refreshing), .wait)

    // Backoff: when the wait is over the step is retried while the state stays
    // in backoff (retryAt = .max marks the retry in flight), so a second
    // failure counts attempt 2, not attempt 1 again; the answer to the retry is
    // handled by the resumed state below.
    case (.backoff(let retryAt, let attempt, let resume), .tick):
      guard now >= retryAt, retryAt != Int64.max else { return (state, .wait) }
      return (.backoff(retryAt: Int64.max, attempt: attempt, resume: resume), action(resuming: resume))
    case (.backoff(_, let attempt, let resume), .transientFailure(let retryIn)):
      return (.backoff(retryAt: now + max(1, retryIn), attempt: attempt + 1, resume: resume), .wait)
    case (.backoff(_, _, let resume), _):
      // A late answer to the step being retried: handle it as that step would.
      return next(resume, event, now: now)

    default:
      return (state, .wait)
    }
  }

  private static func isActive(_ state: SessionState) -> Bool {
    if case .active = state { return true }
    return false
  }

  /// What to do when a backoff ends and `state` is resumed.
  static func action(resuming state: SessionState) -> SessionAction {
    switch state {
    case .refreshing: return .refresh
    case .activationPending(nil), .reauthPending(nil): return .requestDeviceCode
    case .activationPending(.some), .reauthPending(.some): return .pollToken
    default: return .wait
    }
  }

  private static func grant(
    _ pending: PendingApproval?, _ event: SessionEvent, now: Int64,
    wrap: (PendingApproval?) -> SessionState, restart: SessionState, original: SessionState
  ) -> (SessionState, SessionAction) {
    switch event {
    case .deviceCodeIssued(let issued) where pending == nil:
      return (wrap(issued), .publishApproval(issued))
    case .tick:
      guard let pending else { return (original, .wait) }
      if now >= pending.expiresAt { return (restart, .requestDeviceCode) }
      return now >= pending.nextPollAt ? (original, .pollToken) : (original, .wait)
    case .authorizationPending:
      guard var pending else { return (original, .wait) }
      pending.nextPollAt = now + pending.interval
      return (wrap(pending), .wait)
    case .slowDown:
      guard var pending else { return (original, .wait) }
      pending.interval += slowDownStep
      pending.nextPollAt = now + pending.interval
      return (wrap(pending), .wait)
    case .accessDenied, .expiredToken:
      // The owner said no, or took too long: a new code, published anew. Not a
      // hot retry: the owner must act before anything reaches the token endpoint.
      return (restart, .requestDeviceCode)
    case .approved(let expiresAt):
      return (.active(accessExpiresAt: expiresAt), .wait)
    case .transientFailure(let retryIn):
      return (.backoff(retryAt: now + max(1, retryIn), attempt: 1, resume: original), .wait)
    default:
      return (original, .wait)
    }
  }
}
