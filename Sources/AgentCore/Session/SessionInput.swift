/// Everything that can happen to the session core: the driver turns
/// signals, timers and the outcome of each effect into one of these.
public enum SessionInput: Equatable, Sendable {
  /// The vault was read; `seed` starts the core's jitter generator.
  case start(VaultView, seed: UInt64)
  /// A timer fired (the driver woke at the core's wake-up, or later).
  case tick
  /// A step the core asked for finished (its vault commit included).
  case completed(SessionStep, StepOutcome)
  /// SIGUSR1 (the SPEC's "report now"): a report now while active, a fresh
  /// pairing code now while pairing.
  case trigger
  /// The pairing button or the pairing UI (`camera-agent pair`, SIGUSR2):
  /// the owner wants this camera on their account. While pairing, a fresh
  /// code now; while active, the session is checked at the token endpoint
  /// (a refresh, no sooner than the refresh floor) instead of a report,
  /// because after a mass logout owners press it in crowds: one refresh
  /// learns `invalid_grant`, where a report costs the report API a request
  /// and then needs the same refresh.
  case pair
  /// SIGHUP: configuration and vault read again.
  case reloaded(VaultView)
  /// SIGTERM / SIGINT.
  case stop
}

/// The network steps; at most one is in flight at a time.
public enum SessionStep: Equatable, Sendable {
  /// RFC 8628 §3.1 device authorization request.
  case deviceAuthorization
  /// RFC 8628 §3.4 token request with the device code.
  case tokenPoll
  /// RFC 6749 §6 refresh (the driver commits the rotated token first).
  case refresh
  /// The DPoP-authorized status report.
  case report
}

/// How a step ended, as far as the policy cares. The driver classifies
/// every HTTP answer into one of these (`StepOutcome.classify`).
public enum StepOutcome: Equatable, Sendable {
  /// Device authorization answered with a code.
  case issued(DeviceCodeGrant)
  /// Token poll answers (RFC 8628 §3.5).
  case pending
  case denied
  case expired
  /// New tokens, already committed to the vault; their `expires_in`.
  case tokens(lifetimeMs: Int64?)
  /// The report was accepted.
  case accepted
  /// The API refused the access token (`invalid_token`).
  case tokenRejected
  /// `invalid_grant` on refresh: the cloud ended the session.
  case sessionEnded
  /// `invalid_client` / `unauthorized_client`: the identity was refused.
  case clientRefused
  /// `slow_down`, from any endpoint.
  case slowDown
  /// Anything that may pass: no answer, 5xx, 429, an unusable answer.
  case unavailable(TransientFailure)
  /// The step could not even be attempted locally (no firmware version
  /// source for a report, say): not retried until its next schedule.
  case notAttempted
}

/// A device authorization response (RFC 8628 §3.2), durations in ms.
public struct DeviceCodeGrant: Equatable, Sendable {
  public var userCode: String
  public var verificationURI: String
  public var expiresInMs: Int64
  public var intervalMs: Int64

  public init(userCode: String, verificationURI: String, expiresInMs: Int64, intervalMs: Int64) {
    self.userCode = userCode
    self.verificationURI = verificationURI
    self.expiresInMs = expiresInMs
    self.intervalMs = intervalMs
  }
}

/// A failure that may pass, with the server's `Retry-After` where it sent
/// one (already parsed and bounded, in ms).
public enum TransientFailure: Equatable, Sendable {
  case network
  case server(status: Int, retryAfterMs: Int64?)
  case tooManyRequests(retryAfterMs: Int64?)
}
