/// Something the clock decided that an operator should read once in the log.
public enum ClockNotice: Equatable {
  /// At start: the system clock is before the floor.
  case unsynced(system: Int64, floor: Int64)
  /// While the system clock is unsynced, a server's `Date` set the agent's time.
  case corrected(from: Int64, to: Int64, system: Int64)
  /// The system clock reached the floor (NTP, an RTC, a user): the learned
  /// server time is dropped and the system clock is used as it is.
  case systemClockSet(system: Int64)
  /// A server's `Date` was not adopted for an unsynced clock.
  case refused(server: Int64, reason: ClockRefusal)
  /// A synced clock and a server disagree: the clock is kept.
  case keptSyncedClock(system: Int64, server: Int64)
  /// The vault's floor was ahead of both the system clock and a verified
  /// server, which agree with each other: the floor was lowered to them.
  case floorFromTheFuture(floor: Int64, server: Int64, system: Int64)

  /// One log line.
  public var message: String {
    switch self {
    case .unsynced(let system, let floor):
      return "system clock \(TimeText.utc(system)) is before the time floor \(TimeText.utc(floor)):"
        + " unsynced; certificates are judged at the floor until a server's Date sets the time"
    case .corrected(let from, let to, let system):
      return "clock corrected from the server's Date: \(TimeText.utc(from)) -> \(TimeText.utc(to))"
        + " (system clock \(TimeText.utc(system)), unsynced)"
    case .systemClockSet(let system):
      return "system clock is set (\(TimeText.utc(system))): dropping the time learned from the server"
    case .refused(let server, let reason):
      return "server Date \(TimeText.utc(server)) not adopted: \(reason.description)"
    case .keptSyncedClock(let system, let server):
      return "server Date \(TimeText.utc(server)) disagrees with the synced system clock"
        + " \(TimeText.utc(system)); keeping the system clock"
    case .floorFromTheFuture(let floor, let server, let system):
      return "time floor \(TimeText.utc(floor)) from the vault is ahead of the system clock"
        + " \(TimeText.utc(system)) and the server's Date \(TimeText.utc(server)), which agree:"
        + " lowering the floor to them"
    }
  }
}

/// Why a server's `Date` was not adopted.
public enum ClockRefusal: Equatable {
  /// Plain HTTP or a transport without a certificate: nothing vouches for it.
  case unverifiedServer
  /// Earlier than the time floor: the clock never goes back.
  case beforeFloor(floor: Int64)
  /// Earlier than the server certificate's own notBefore.
  case beforeCertificate(notBefore: Int64)
  /// Later than the server certificate's notAfter: the certificate would be
  /// expired at that time, so its holder cannot vouch for it.
  case afterCertificate(notAfter: Int64)
  /// Further past the floor than a camera can plausibly have been unpowered.
  case implausible(limit: Int64)

  public var description: String {
    switch self {
    case .unverifiedServer: return "no verified server certificate"
    case .beforeFloor(let floor): return "before the time floor \(TimeText.utc(floor))"
    case .beforeCertificate(let notBefore):
      return "before the server certificate's notBefore \(TimeText.utc(notBefore))"
    case .afterCertificate(let notAfter):
      return "after the server certificate's notAfter \(TimeText.utc(notAfter))"
    case .implausible(let limit): return "later than the plausible limit \(TimeText.utc(limit))"
    }
  }
}
