/// What the driver must do after a transition, in order. Values: the core
/// never performs anything itself and never calls itself from an effect.
public enum SessionEffect: Equatable, Sendable {
  /// Run this step; feed its outcome back as `.completed(step, outcome)`.
  case send(SessionStep)
  /// Destroy the tokens and the DPoP key in the vault, before anything else.
  case destroySession
  /// Make a new DPoP session key for the coming device grant (kept in memory
  /// and committed together with the tokens it is bound to).
  case newSessionKey
  /// The published state changed: rewrite the state file, run the hook.
  case publish
  /// A line for the log.
  case note(SessionNote)
}

/// The log lines the policy decides on (the driver words them).
public enum SessionNote: Equatable, Sendable {
  case startingIn(Int64)
  case notProvisioned
  case waitingForOwner(expiresInMs: Int64)
  case slowedDown(intervalMs: Int64)
  case codeLapsed(denied: Bool, nextCodeInMs: Int64)
  case activated
  case lifetimeRaised(fromMs: Int64, toMs: Int64)
  case nextRefreshIn(Int64)
  case retryIn(SessionStep, Int64)
  case sessionEnded(reauthInMs: Int64)
  case identityRefused(retryInMs: Int64)
  case reportAccepted(nextInMs: Int64?)
  case reportRefused(refreshing: Bool, retryInMs: Int64)
  case reportWaitsForRefresh(inMs: Int64)
  case triggerIgnored
  /// An outcome that does not fit the step in flight (a driver bug): it is
  /// dropped, and the core's own timers carry on.
  case unexpected(SessionStep)
  case stopping
}
