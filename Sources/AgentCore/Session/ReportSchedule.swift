/// The status report's own timer, beside the session's: a failed report
/// backs off on its own and never moves a session timer.
public struct ReportSchedule: Equatable, Sendable {
  /// When the next report (periodic, after activation, on a trigger, or the
  /// retry of a failed one) is due; nil when none is.
  public var dueAt: Int64?
  /// Failed attempts in a row, for the report's backoff.
  public var failures: Int = 0
  /// Refreshes this attempt has had after `invalid_token`.
  public var refreshesUsed = 0
  /// The report waits for the refresh in progress (its token was refused
  /// or has expired).
  public var waitingForRefresh = false
  /// When the last report request went out (the trigger cooldown).
  public var lastAttemptAt: Int64? = nil

  public init(dueAt: Int64? = nil) { self.dueAt = dueAt }
}
