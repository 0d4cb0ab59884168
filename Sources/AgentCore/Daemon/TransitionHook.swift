import CAgentSys

/// The optional executable run on each change of the local state (SPEC
/// "Local state interface"): a LED or pairing UI learns the state and, while
/// the owner's approval is pending, the code to show. Its environment is
/// built here from nothing: the state file's values and a fixed PATH. The
/// agent's own environment, descriptors and signal mask never reach it. It
/// runs in its own process group, and a timeout kills the whole group.
struct TransitionHook {
  let path: String
  let timeoutMilliseconds: Int

  static let searchPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

  enum Outcome: Equatable {
    case exited(Int32)
    case killedAfterTimeout
    case notStarted(SystemError)
  }

  /// `CAMERA_AGENT_STATE=…` and friends for a state file's `key=value` text
  /// (`StateFile.render`): each value as it was before the file's shell
  /// quoting, since an environment variable needs none. A line that is not
  /// the daemon's own syntax is left out.
  static func environment(stateFileText: String) -> [String] {
    var variables: [String] = []
    // Split on bytes: Character splitting would link grapheme breaking.
    for line in Array(stateFileText.utf8).split(separator: UInt8(ascii: "\n")) {
      guard let equals = line.firstIndex(of: UInt8(ascii: "=")),
        let value = StateFile.unquoted(Substring(String(decoding: line[(equals + 1)...], as: UTF8.self)))
      else { continue }
      var name = "CAMERA_AGENT_"
      for byte in line[..<equals] {
        name.unicodeScalars.append(Unicode.Scalar(byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte))
      }
      variables.append(name + "=" + value)
    }
    variables.append(searchPath)
    return variables
  }

  /// Runs the hook and waits for it, at most `timeoutMilliseconds`.
  func run(environment: [String]) -> Outcome {
    var pointers: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    var pid: pid_t = 0
    let rc = pointers.withUnsafeBufferPointer { envp in ca_spawn_hook(path, envp.baseAddress, &pid) }
    guard rc == 0 else { return .notStarted(SystemError("posix_spawn \(path)", errno: rc)) }
    var waited = 0
    while true {
      var status: Int32 = 0
      let reaped = ca_reap(pid, &status)
      if reaped == 1 { return .exited(status) }
      if reaped < 0 { return .notStarted(SystemError.last("waitpid")) }
      if waited >= timeoutMilliseconds {
        // The group: a hook's children (a backgrounded `sleep`, a pipeline)
        // would otherwise outlive it, holding the agent's stderr open.
        ca_kill_group_hard(pid)
        while ca_reap(pid, &status) == 0 { ca_sleep_ms(5) }
        return .killedAfterTimeout
      }
      ca_sleep_ms(10)
      waited += 10
    }
  }
}
