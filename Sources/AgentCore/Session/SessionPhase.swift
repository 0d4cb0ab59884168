/// Where the device's cloud session stands: the part of `SessionCore` a
/// person would draw as boxes.
///
///     booting → starting → unprovisioned (waits for SIGHUP after `provision`)
///                        → pairing (first activation) → active ⇄ refresh
///     active --invalid_grant--> reauthWait (spread) → pairing (re-activation) → active
///     pairing / active --invalid_client--> identityRefused (slow retry) → back
///     any --SIGTERM--> stopped
public enum SessionPhase: Equatable, Sendable {
  /// Before the driver has read the vault.
  case booting
  /// The random start-up delay; then the vault's contents decide.
  case starting(until: Int64, vault: VaultView)
  /// No identity key: nothing to do until `provision` and SIGHUP.
  case unprovisioned
  /// A device grant: waiting for a code, or for the owner to approve one.
  case pairing(Pairing)
  /// Tokens in the vault.
  case active(TokenSchedule)
  /// The cloud ended the session; tokens and key are destroyed. The device
  /// grant starts at `until`, a random point in the spread window.
  case reauthWait(until: Int64)
  /// The cloud refused this device's identity (`invalid_client`). The
  /// tokens, if any, are kept; the step is retried slowly (and at once on
  /// SIGHUP, when an operator has fixed the registration).
  case identityRefused(Refusal)
  /// SIGTERM: nothing more happens.
  case stopped
}

/// The vault's contents, as far as the session is concerned.
public enum VaultView: Equatable, Sendable {
  case empty
  case identityOnly
  /// Tokens and a session key; the access token's expiry if it is stored.
  case session(accessExpiresAt: Int64?)
}

/// A device grant in progress (RFC 8628).
public struct Pairing: Equatable, Sendable {
  /// A re-activation after the cloud ended a session (published as
  /// `reauth_pending`), or the first activation (`activation_pending`).
  public var reactivation: Bool
  /// The code the owner is asked to approve; nil while there is none.
  public var code: PendingApproval?
  /// With no code: when the next device-authorization request goes out.
  public var nextCodeAt: Int64
  /// The current step failed transiently and is retried at `retry.at`.
  public var retry: Retry?

  public init(reactivation: Bool, code: PendingApproval? = nil, nextCodeAt: Int64, retry: Retry? = nil) {
    self.reactivation = reactivation
    self.code = code
    self.nextCodeAt = nextCodeAt
    self.retry = retry
  }
}

/// An issued device code (RFC 8628 §3.2) as the device tracks it.
public struct PendingApproval: Equatable, Sendable {
  public var userCode: String
  public var verificationURI: String
  /// When the device stops polling this code (the server's `expires_in`,
  /// bounded by the settings).
  public var expiresAt: Int64
  /// Milliseconds between polls; grows by 5 s on each `slow_down`.
  public var interval: Int64
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

/// When the session's tokens need attention.
public struct TokenSchedule: Equatable, Sendable {
  /// When the access token expires; nil when unknown (not in the vault):
  /// then it is refreshed before first use.
  public var accessExpiresAt: Int64?
  public var refreshAt: Int64
  /// A refresh failed transiently and is retried at `retry.at`.
  public var retry: Retry?

  public init(accessExpiresAt: Int64?, refreshAt: Int64, retry: Retry? = nil) {
    self.accessExpiresAt = accessExpiresAt
    self.refreshAt = refreshAt
    self.retry = retry
  }
}

/// A step that failed transiently: `attempt` failures in a row so far.
public struct Retry: Equatable, Sendable {
  public var attempt: Int
  public var at: Int64

  public init(attempt: Int, at: Int64) {
    self.attempt = attempt
    self.at = at
  }
}

/// A refused identity and what resumes when it is retried.
public struct Refusal: Equatable, Sendable {
  public var retryAt: Int64
  /// The session's tokens are still in the vault: a refresh resumes.
  /// Otherwise the device grant does.
  public var schedule: TokenSchedule?
  public var reactivation: Bool

  public init(retryAt: Int64, schedule: TokenSchedule?, reactivation: Bool) {
    self.retryAt = retryAt
    self.schedule = schedule
    self.reactivation = reactivation
  }
}
