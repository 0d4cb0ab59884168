/// The earliest time the agent will believe it is (SPEC "Clock").
///
/// Two witnesses set it: the build's own time (the firmware cannot run
/// before it was built: `AgentVersion.buildFloor`), and the latest time the
/// agent has seen confirmed, kept in the vault (`VaultContents.timeFloor`)
/// so that it survives restarts and power cuts. "Confirmed" means a server
/// whose certificate verified and the agent's own clock agree that the time
/// has come: the floor is raised to the earlier of the two, so neither a
/// server's `Date` of year 9999 nor a board clock that runs ahead can carry
/// it into the future alone.
///
/// Only raised, never lowered, with one exception that needs a verified
/// server and the board's clock to agree against it
/// (`discardWitness(replacingWith:)`): a floor from the future.
///
/// The floor is written only in commits that happen anyway (tokens,
/// activation, re-authentication): it costs no flash wear of its own, and a
/// power cut leaves the old or the new value, both no later than the truth.
public struct TimeFloor: Equatable {
  /// Seconds since the epoch the build was made at (or its fallback).
  public let buildTime: Int64
  /// The latest confirmed time: the vault's value, raised since it was read.
  public private(set) var witnessed: Int64?

  public init(buildTime: Int64, stored: Int64?) {
    self.buildTime = buildTime
    self.witnessed = stored
  }

  /// The floor itself, in seconds since the epoch.
  public var seconds: Int64 { max(buildTime, witnessed ?? buildTime) }

  /// Raises the witnessed time to `time` when later; returns whether it moved.
  @discardableResult
  public mutating func raise(to time: Int64) -> Bool {
    if let witnessed, witnessed >= time { return false }
    guard time > buildTime || witnessed != nil else { return false }
    witnessed = time
    return true
  }

  /// Forgets a witnessed time shown to be from the future, keeping
  /// `replacement` (never below the build time). `ClockCorrection` calls this
  /// only when a server verified at the old floor and the board's clock
  /// agree on an earlier time.
  public mutating func discardWitness(replacingWith replacement: Int64) {
    witnessed = max(replacement, buildTime)
  }

  /// What a vault commit stores: the floor, never less than what the vault
  /// held (`stored`) unless a future witness was discarded on purpose.
  public func valueToStore() -> Int64 { seconds }
}
