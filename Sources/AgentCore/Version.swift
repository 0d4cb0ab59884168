import CAgentSys

/// The agent's own version, reported to the cloud as `agent_version`.
public enum AgentVersion {
  public static let string = "0.1.0"

  /// 2026-01-01T00:00:00Z: the floor of a build that did not pass its time.
  public static var fallbackBuildTime: Int64 { 1_767_225_600 }

  /// Seconds since the epoch of the commit this was built from
  /// (`-DCA_BUILD_TIME`, SOURCE_DATE_EPOCH style), or nil when the build did
  /// not pass one.
  public static var buildTime: Int64? {
    let value = ca_build_time()
    return value > 0 ? value : nil
  }

  /// The lowest time floor: the build time, else `fallbackBuildTime`.
  public static var buildFloor: Int64 { max(buildTime ?? fallbackBuildTime, fallbackBuildTime) }

  public static var buildMode: String {
    #if hasFeature(Embedded)
      return "embedded"
    #else
      return "hosted"
    #endif
  }

  public static var architecture: String {
    #if arch(arm64)
      return "aarch64"
    #elseif arch(arm)
      return "armv7"
    #elseif arch(x86_64)
      return "x86_64"
    #else
      return "unknown"
    #endif
  }
}
