/// Where this device's cloud session stands. One enum, driven only by
/// `SessionMachine.next(_:_:now:)`, so the whole lifecycle can be drawn and
/// tested exhaustively, and the same code runs on a board, in a unit test and
/// in a fleet simulation.
///
///     unprovisioned → activationPending → active ⇄ refreshing
///                                          ↓ (revoked)
///                     reauthRequired → reauthPending → active
///     any network step ⇄ backoff (retry later, the same step)
public enum SessionState: Equatable, Sendable {
  /// No identity key in the vault: nothing to do until `provision`.
  case unprovisioned
  /// First activation: waiting for a device code (nil) or for the owner.
  case activationPending(PendingApproval?)
  /// Tokens in the vault; the access token is good until `accessExpiresAt`.
  case active(accessExpiresAt: Int64)
  /// A refresh is due or in flight.
  case refreshing
  /// The cloud revoked the session; old tokens are gone. The device grant
  /// starts again at `startAt`, a random point in the spread window, so a
  /// fleet logged out in the same second does not come back in the same second.
  case reauthRequired(startAt: Int64)
  /// Re-activation: waiting for a device code (nil) or for the owner.
  case reauthPending(PendingApproval?)
  /// A network step failed transiently; `resume` is retried at `retryAt`.
  indirect case backoff(retryAt: Int64, attempt: Int, resume: SessionState)

  /// The short name published on the local state interface (`state=`).
  public var name: String {
    switch self {
    case .unprovisioned: return "unprovisioned"
    case .activationPending: return "activation_pending"
    case .active: return "active"
    case .refreshing: return "refreshing"
    case .reauthRequired: return "reauth_required"
    case .reauthPending: return "reauth_pending"
    case .backoff: return "backoff"
    }
  }
}

/// An issued device code (RFC 8628 §3.2) as the device tracks it.
public struct PendingApproval: Equatable, Sendable {
  public var userCode: String
  public var verificationURI: String
  /// When the device code expires (milliseconds, corrected clock).
  public var expiresAt: Int64
  /// Minimum milliseconds between polls; grows by 5 s on `slow_down` (RFC 8628 §3.5).
  public var interval: Int64
  /// When the next token request may be made (milliseconds).
  public var nextPollAt: Int64

  public init(userCode: String, verificationURI: String, expiresAt: Int64, interval: Int64, nextPollAt: Int64)
  {
    self.userCode = userCode
    self.verificationURI = verificationURI
    self.expiresAt = expiresAt
    self.interval = interval
    self.nextPollAt = nextPollAt
  }
}
