import CAgentSys

/// A command run as root on the board (the factory console runs `provision`
/// as root) creates slot files owned by root, mode 0600, which a service
/// running as the board's user (systemd `User=camera-agent`) then cannot
/// read. With `vault_owner` set (the board definition's SERVICE_USER), a
/// root-run command that touched the file backend gives the vault directory
/// and its slot files back to that user. Descriptors only (open with
/// O_NOFOLLOW, fchown): a symlink or hard link the agent user planted in its
/// own directory is refused, never followed. The MTD backend's device node
/// belongs to udev/mdev rules, not to this.
enum VaultOwnership {
  enum Failure: Error, CustomStringConvertible {
    case noSuchUser(String)
    case system(SystemError)
    case refused(String)

    var description: String {
      switch self {
      case .noSuchUser(let name): return "vault_owner: no user \(name) on this board"
      case .system(let error): return "vault_owner: \(error.description)"
      case .refused(let path): return "vault_owner: \(path) is not a plain file of the vault; left alone"
      }
    }
  }

  /// Gives the file backend's directory and slot files to `config.vaultOwner`
  /// when the process is root; nothing otherwise.
  static func apply(_ config: AgentConfig) throws(Failure) {
    guard let owner = config.vaultOwner, config.vaultBackend == .file, ca_geteuid() == 0 else { return }
    var uid: uid_t = 0
    var gid: gid_t = 0
    guard ca_lookup_user(owner, &uid, &gid) == 0 else { throw .noSuchUser(owner) }
    let directory = config.vaultPath
    let dirfd = ca_open_directory_nofollow(directory)
    guard dirfd >= 0 else {
      // No vault directory yet (an unprovisioned board): nothing to give.
      if ca_errno() == ENOENT { return }
      throw .system(.last("open \(directory)"))
    }
    defer { close(dirfd) }
    guard ca_fchown_fd(dirfd, uid, gid) == 0 else { throw .system(.last("fchown \(directory)")) }
    for name in ["slot0.rec", "slot1.rec"] {
      switch ca_give_file(dirfd, name, uid, gid) {
      case 0, 1: continue
      case -2: throw .refused(directory + "/" + name)
      default: throw .system(.last("fchown \(directory)/\(name)"))
      }
    }
  }
}
