/// Whether `camera-agent pair` may signal the process that holds the vault
/// lock. `pair` is run by a button daemon or the pairing UI, often as root,
/// and the lock holder is whoever managed to flock the vault object: the
/// rule makes sure the process signalled is no more privileged than the
/// vault it holds, so that root is never made to signal a process of
/// another user (or root) that a user merely managed to point at.
///
/// The rule, from the vault object's owner (fstat of the directory or
/// device node `pair` opened itself) and the holder's credentials (its
/// /proc/PID/status, read while its pidfd is held):
/// - `vault_owner` set in the configuration: every uid of the holder is
///   that user's;
/// - a vault owned by a user (not root): every uid of the holder is the
///   owner's, and it holds no capabilities (the file backend, whose
///   directory `provision` gives to `vault_owner`; an MTD node given to the
///   agent's user by a udev `OWNER=` rule);
/// - a root-owned vault directory: the holder is root in every uid (a board
///   that runs the agent as root);
/// - a root-owned device node (the armv7-cortex-a7-camera board: mdev.conf
///   and 99-camera-agent.rules make /dev/mtd4 `root:camera-agent 0660`, and
///   the agent runs as `camera-agent`): the node's group is not root's, and
///   the holder is not root in any uid, holds no capabilities, and has that
///   group as every one of its four gids. That is exactly how
///   start-stop-daemon -c and systemd's User=/Group= start the agent. A board
///   that runs an MTD agent as root is refused (use the init script's
///   SIGUSR2, or give the node to the agent's user).
public enum PairPermission {
  /// What the vault object is.
  public enum ObjectKind: Equatable {
    case directory
    case device
  }

  public struct VaultObject: Equatable {
    public var kind: ObjectKind
    public var uid: UInt32
    public var gid: UInt32

    public init(kind: ObjectKind, uid: UInt32, gid: UInt32) {
      self.kind = kind
      self.uid = uid
      self.gid = gid
    }
  }

  public enum Verdict: Equatable {
    case allowed
    /// Why not, for the refusal message.
    case refused(String)
  }

  /// The verdict for a holder with `process` credentials on `vault`;
  /// `agentUser` is the uid of the configured `vault_owner`, if any.
  public static func check(vault: VaultObject, process: ProcessCredentials, agentUser: UInt32?)
    -> Verdict
  {
    guard process.uids.count == 4, process.gids.count == 4 else {
      return .refused("its credentials are unreadable")
    }
    if let agentUser, !process.uids.allSatisfy({ $0 == agentUser }) {
      return .refused("it is not vault_owner's user (uid \(agentUser)); its uids are \(list(process.uids))")
    }
    if vault.uid != 0 {
      guard process.uids.allSatisfy({ $0 == vault.uid }) else {
        return .refused("the vault belongs to uid \(vault.uid); its uids are \(list(process.uids))")
      }
      guard process.effectiveCapabilities == 0 else { return .refused("it holds capabilities") }
      return .allowed
    }
    switch vault.kind {
    case .directory:
      guard process.uids.allSatisfy({ $0 == 0 }) else {
        return .refused("the vault directory belongs to root; its uids are \(list(process.uids))")
      }
      return .allowed
    case .device:
      guard vault.gid != 0 else {
        return .refused("the vault device belongs to root:root, not to the agent's group")
      }
      guard process.uids.allSatisfy({ $0 != 0 }) else {
        return .refused("it runs as root on a vault device the agent's group (gid \(vault.gid)) owns")
      }
      guard process.effectiveCapabilities == 0 else { return .refused("it holds capabilities") }
      guard process.gids.allSatisfy({ $0 == vault.gid }) else {
        return .refused("the vault device's group is gid \(vault.gid); its gids are \(list(process.gids))")
      }
      return .allowed
    }
  }

  private static func list(_ ids: [UInt32]) -> String {
    var text = ""
    for id in ids { text += (text.isEmpty ? "" : ",") + "\(id)" }
    return text
  }
}
