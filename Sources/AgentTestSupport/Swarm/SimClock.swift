import AgentCore

/// The simulators' wall clock: a value the harness moves, shared by the
/// driver, its cloud client and the simulated cloud (a class, so one step
/// that "takes" 30 s moves every reader's time).
public final class SimClock: WallClock {
  public var time: Int64

  public init(milliseconds: Int64) { time = milliseconds }

  public func seconds() -> Int64 { time / 1_000 }
  public func milliseconds() -> Int64 { time }
}
