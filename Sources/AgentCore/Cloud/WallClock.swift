import CAgentSys

/// The device's own wall clock, in whole seconds since the epoch. Injected
/// (as a generic parameter) so tests and the fleet simulation can start a
/// camera at 1970 or at any other instant.
public protocol WallClock {
  func seconds() -> Int64
  /// The same clock in milliseconds, for timers finer than a second.
  func milliseconds() -> Int64
  /// A clock that never jumps (CLOCK_MONOTONIC): a time learned from a
  /// server runs on from here, so a later step of the wall clock (NTP, a
  /// user, an RTC read) cannot drag it along.
  func monotonicMilliseconds() -> Int64
}

extension WallClock {
  public func milliseconds() -> Int64 { seconds() &* 1_000 }
  /// A test clock that only ever moves forward may serve as both.
  public func monotonicMilliseconds() -> Int64 { milliseconds() }
}

/// `clock_gettime(CLOCK_REALTIME)`: on a board that has not reached NTP yet
/// this is 1970 or whatever the RTC held.
public struct SystemWallClock: WallClock {
  public init() {}

  public func seconds() -> Int64 { ca_wall_seconds() }
  public func milliseconds() -> Int64 { ca_wall_milliseconds() }
  public func monotonicMilliseconds() -> Int64 { ca_monotonic_ms() }
}

/// A clock that reads a set value: for tests, and for simulations that drive
/// time themselves.
public struct FixedWallClock: WallClock {
  public var value: Int64

  public init(_ value: Int64) { self.value = value }

  public func seconds() -> Int64 { value }
}
