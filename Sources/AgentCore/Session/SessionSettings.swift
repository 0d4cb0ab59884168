/// The numbers the session core's policy runs by. Plain values from the
/// configuration, so a board, a unit test and the fleet simulator run the
/// same policy with the same settings. Every duration is milliseconds.
public struct SessionSettings: Equatable, Sendable {
  /// Re-authentication spread, backoff base and cap, the largest honoured
  /// `Retry-After`.
  public var storm: StormPolicy
  /// A refresh is due this long before the access token expires...
  public var refreshMarginMs: Int64 = 30_000
  /// ...but never sooner than this after the previous successful refresh or
  /// activation: a server that hands out 1 s tokens gets one refresh a
  /// minute, not one a second (and the vault one commit a minute).
  public var refreshFloorMs: Int64 = 60_000
  /// Lifetimes below this are scheduled as this long (and logged once).
  public var minimumLifetimeMs: Int64 = 60_000
  /// What a token response without `expires_in` is taken to mean.
  public var defaultLifetimeMs: Int64 = 300_000
  /// The first request after start waits a random 0...this, so a region
  /// whose power returns at once does not reach the cloud in one second.
  public var startupDelayMs: Int64 = 5_000
  /// The report after an activation waits a random 0...this: after a mass
  /// logout, owners approving in a rush re-activate hundreds of cameras a
  /// second, and reports sent the instant each one is back peaked the
  /// report API at 2.4x its capacity in the fleet simulation. The cloud
  /// learns of the activation from the token grant itself; the report only
  /// confirms the firmware version and the activation time.
  public var activationReportDelayMs: Int64 = 3_600_000
  /// Periodic report interval while active (0: off) and its random jitter.
  public var reportIntervalMs: Int64 = 21_600_000
  public var reportJitterMs: Int64 = 2_160_000
  /// Device-grant polling never faster than this, whatever `interval` says...
  public var minimumPollIntervalMs: Int64 = 1_000
  /// ...and `slow_down` can push it at most this far (a hostile server
  /// cannot overflow the timer).
  public var maximumPollIntervalMs: Int64 = 3_600_000
  /// A device code is polled for at most this long, whatever `expires_in` says.
  public var maximumCodeLifetimeMs: Int64 = 1_800_000
  /// After a code lapses or is denied with nobody approving, the next code
  /// waits this long, doubling with each unattended code up to the cap...
  public var unattendedBaseMs: Int64 = 1_800_000
  public var unattendedCapMs: Int64 = 43_200_000
  /// ...and an unattended device's codes are polled at most this slowly and
  /// listened to for this long, so an owner who never comes back costs the
  /// cloud under one request an hour.
  public var unattendedPollIntervalMs: Int64 = 120_000
  public var unattendedListenMs: Int64 = 900_000
  /// `invalid_client` / `unauthorized_client`: the tokens are kept and the
  /// step is retried after this, doubling to the cap (minutes to hours).
  public var refusalBaseMs: Int64 = 300_000
  public var refusalCapMs: Int64 = 21_600_000
  /// A local trigger (SIGUSR1, `camera-agent pair`) acts at most this often.
  public var triggerCooldownMs: Int64 = 10_000
  /// The shortest wait before any retry: full jitter can draw 0.
  public var minimumRetryMs: Int64 = 50
  /// What each `slow_down` adds (RFC 8628 §3.5: 5 s). A setting only so the
  /// swarm simulator can show that its invariant catches a device that
  /// ignores `slow_down`; the configuration does not offer it.
  public var slowDownIncrementMs: Int64 = 5_000
  /// Refreshes a report attempt may cause after `invalid_token` (one: a
  /// fresh token refused again is not the token's fault). Also a setting
  /// for the simulator's deliberately broken policy.
  public var refreshesPerReport: Int = 1

  public init(storm: StormPolicy = StormPolicy()) { self.storm = storm }
}
