import AgentCore

/// The swarm's host: records what a board's host would show (state file,
/// log) and every vault commit, and turns the server's power-cut request
/// into the stop check the driver makes between steps.
public struct SwarmHost: SessionHost {
  public let server: SwarmServer
  public private(set) var published: [PublishedState] = []
  public private(set) var commits: [(at: Int64, contents: VaultContents)] = []
  public private(set) var logLines = 0

  public init(server: SwarmServer) { self.server = server }

  public mutating func publish(_ state: PublishedState) { published.append(state) }

  public mutating func log(_ level: LogLevel, _ message: LogMessage) { logLines += 1 }

  public mutating func reportBody(_ contents: VaultContents) -> [UInt8]? {
    Array(
      #"{"schema":1,"device_id":"cam-swarm","firmware_version":"1.0","last_activation":"2026-12-01T00:00Z","agent_version":"swarm"}"#
        .utf8)
  }

  public mutating func stopRequested() -> Bool { server.cutRequested }

  public mutating func prepareCommit(_ contents: inout VaultContents) {}

  public mutating func committed(_ contents: VaultContents) {
    commits.append((server.clock.time, contents))
  }
}
