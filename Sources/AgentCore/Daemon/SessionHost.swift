/// What the session driver needs from where it runs: the board's state
/// file, hook, log, firmware version and signals, or a simulator's
/// recorders. A generic parameter (no existential), so it compiles in
/// Embedded Swift and the simulator runs the same driver as the board.
public protocol SessionHost {
  /// The published state changed: state file and hook.
  mutating func publish(_ state: PublishedState)
  mutating func log(_ level: LogLevel, _ message: LogMessage)
  /// The status report's body for these vault contents; nil (after
  /// logging why) when none can be made.
  mutating func reportBody(_ contents: VaultContents) -> [UInt8]?
  /// Checked before each network step, so SIGTERM stops a chain of steps.
  mutating func stopRequested() -> Bool
  /// Adds what the board records beside the session (the issuer and API
  /// base the tokens belong to) to contents about to be committed.
  mutating func prepareCommit(_ contents: inout VaultContents)
  /// A commit reached the vault (the simulator checks it against the medium).
  mutating func committed(_ contents: VaultContents)
}
