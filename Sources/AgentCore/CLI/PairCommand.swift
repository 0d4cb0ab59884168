import CAgentSys

/// `camera-agent pair`: the pairing button or the pairing UI. It asks the
/// running daemon for a fresh pairing code (while active: a check of the
/// session with one refresh, `SessionInput.pair`) by sending it SIGUSR2,
/// which is all it does: it
/// reads no key, opens no vault record and sends nothing to the cloud.
///
/// The daemon is found as the holder of the vault lock (the daemon holds an
/// exclusive flock on the vault directory or MTD device node while it has an
/// identity; an unprovisioned one releases it), never from a pid file, which
/// the agent's user could write. Signalling that pid safely:
/// 1. open the vault object as the vault does (the directory with
///    O_NOFOLLOW, the device node as MTDFlash opens it) and fstat it: its
///    kind and owner come from the descriptor, not a path that can change;
/// 2. the lock's holder from /proc/locks, for that descriptor's inode;
/// 3. pidfd_open(holder): from here the process is pinned, and a pid reused
///    later cannot be signalled by mistake;
/// 4. its /proc/PID/status, then pidfd_send_signal(pidfd, 0): the process
///    still exists, so the pid was not reused while the status was read and
///    those are its credentials;
/// 5. /proc/locks again: the same pid still holds the lock;
/// 6. PairPermission: it is not more privileged than the vault it holds;
/// 7. pidfd_send_signal(pidfd, SIGUSR2).
/// A kernel without pidfds (before Linux 5.3, ENOSYS) falls back to kill(2)
/// after the same checks: a pid reused between the checks and the kill is
/// then possible, but only within the few microseconds between them.
///
/// /proc/locks names whoever took the lock; the daemon takes it itself and
/// its lock descriptors are close-on-exec, so its hook never inherits them.
/// A pid stale in /proc/locks (a locker that exited while a descendant kept
/// its descriptor) and since reused is still caught by step 6: whatever is
/// signalled has the vault owner's credentials, so `pair` can never do with
/// root's rights what the agent's user could not do itself.
enum PairCommand {
  static func run(config: AgentConfig) -> Int32 {
    let path = config.vaultPath
    let fd: Int32
    switch config.vaultBackend {
    case .file: fd = ca_open_directory_nofollow(path)
    case .mtd: fd = ca_open_device_readonly(path)
    }
    guard fd >= 0 else {
      let error = ca_errno()
      if error == ENOENT {
        Console.err(
          "camera-agent: pair: no vault at \(path): nothing holds an identity here; nothing was sent")
        return ExitCode.unavailable
      }
      if error == ELOOP || error == ENOTDIR {
        Console.err(
          "camera-agent: pair: \(path) is not a directory (or is a symlink); refused, nothing was sent")
        return ExitCode.failure
      }
      Console.err("camera-agent: pair: \(SystemError("open \(path)", errno: error).description)")
      return ExitCode.failure
    }
    defer { close(fd) }
    var kind: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    guard ca_fstat_owner(fd, &kind, &uid, &gid) == 0 else {
      Console.err("camera-agent: pair: \(SystemError.last("fstat \(path)").description)")
      return ExitCode.failure
    }
    let objectKind: PairPermission.ObjectKind
    switch (config.vaultBackend, kind) {
    case (.file, 1): objectKind = .directory
    case (.mtd, 4): objectKind = .device
    default:
      Console.err(
        "camera-agent: pair: \(path) is not the vault's \(config.vaultBackend == .file ? "directory" : "character device"); refused, nothing was sent"
      )
      return ExitCode.failure
    }
    var agentUser: UInt32? = nil
    if let name = config.vaultOwner {
      var ownerUID: uid_t = 0
      var ownerGID: gid_t = 0
      guard ca_lookup_user(name, &ownerUID, &ownerGID) == 0 else {
        Console.err("camera-agent: vault_owner: no user \(name) on this board")
        return ExitCode.config
      }
      agentUser = UInt32(ownerUID)
    }
    let vault = PairPermission.VaultObject(kind: objectKind, uid: uid, gid: gid)
    return signalHolder(fd: fd, vault: vault, agentUser: agentUser, config: config)
  }

  private static let noAgent =
    "no running camera-agent holds the vault (none is running, or its vault holds no identity yet: provision it); nothing was sent"

  private static func exited(_ holder: Int) -> Int32 {
    Console.err("camera-agent: pair: the vault's holder (pid \(holder)) has just exited; nothing was sent")
    return ExitCode.unavailable
  }

  private static func signalHolder(
    fd: Int32, vault: PairPermission.VaultObject, agentUser: UInt32?, config: AgentConfig
  )
    -> Int32
  {
    let holder = ca_flock_holder(fd)
    guard holder > 0 else {
      Console.err("camera-agent: pair: \(noAgent)")
      return ExitCode.unavailable
    }
    var pidfd = ca_pidfd_open(holder)
    if pidfd < 0 {
      let error = ca_errno()
      if error == ESRCH {
        return exited(holder)
      }
      guard error == ENOSYS else {
        Console.err("camera-agent: pair: \(SystemError("pidfd_open \(holder)", errno: error).description)")
        return ExitCode.failure
      }
      pidfd = -1  // The kill(2) fallback (see the type's comment).
    }
    defer { if pidfd >= 0 { close(pidfd) } }
    let status: [UInt8]
    do throws(FileIO.ReadError) {
      status = try FileIO.read("/proc/\(holder)/status", maxBytes: 64 * 1024)
    } catch {
      Console.err(
        "camera-agent: pair: the vault's holder (pid \(holder)): \(error.description); nothing was sent")
      return ExitCode.unavailable
    }
    if pidfd >= 0, ca_pidfd_send_signal(pidfd, 0) != 0, ca_errno() == ESRCH { return exited(holder) }
    guard ca_flock_holder(fd) == holder else {
      Console.err(
        "camera-agent: pair: the vault changed hands while it was checked (pid \(holder)); nothing was sent")
      return ExitCode.unavailable
    }
    guard let credentials = ProcessCredentials.parse(status: status) else {
      Console.err(
        "camera-agent: pair: /proc/\(holder)/status does not read as a process's credentials; nothing was sent"
      )
      return ExitCode.failure
    }
    if case .refused(let why) = PairPermission.check(vault: vault, process: credentials, agentUser: agentUser)
    {
      Console.err(
        "camera-agent: pair: refused: pid \(holder) holds the vault but is not the agent's user: \(why); nothing was sent"
      )
      return ExitCode.noPermission
    }
    let sent = pidfd >= 0 ? ca_pidfd_send_signal(pidfd, ca_sig_usr2()) : ca_kill(holder, ca_sig_usr2())
    guard sent == 0 else {
      let error = ca_errno()
      if error == ESRCH {
        return exited(holder)
      }
      if error == EPERM {
        Console.err(
          "camera-agent: pair: not allowed to signal the agent (pid \(holder)): run as root or as its user")
        return ExitCode.noPermission
      }
      Console.err("camera-agent: pair: \(SystemError("signal \(holder)", errno: error).description)")
      return ExitCode.failure
    }
    Console.out(
      "camera-agent pair: asked the agent (pid \(holder)): if it is pairing, a fresh code follows within seconds in \(config.stateFile); if it is active, it reports now"
    )
    return ExitCode.ok
  }
}
