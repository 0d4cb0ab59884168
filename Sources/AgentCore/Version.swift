/// The agent's own version, reported to the cloud as `agent_version`.
public enum AgentVersion {
  public static let string = "0.1.0"

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
