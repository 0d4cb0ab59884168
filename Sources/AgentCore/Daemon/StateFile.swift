/// The local state interface other firmware processes read (LED, speaker,
/// pairing UI): a small `key=value` file under /run, replaced atomically
/// (temporary file, then rename) so a reader sees the old or the new
/// contents, never half of one. It never holds a token: only the state
/// name and, while the owner's approval is pending, the code to show.
struct StateFile {
  let path: String

  /// The file's contents for `state` (`stopped` when the daemon has ended).
  static func render(_ state: SessionState?) -> String {
    guard let state else { return "state=stopped\n" }
    var text = "state=\(state.name)\n"
    if let pending = pendingApproval(state) {
      text += "user_code=\(pending.userCode)\n"
      text += "verification_uri=\(pending.verificationURI)\n"
      text += "expires_at=\(pending.expiresAt / 1_000)\n"
    }
    return text
  }

  /// The issued device code of a state waiting for the owner, also while a
  /// poll of it is backing off.
  static func pendingApproval(_ state: SessionState) -> PendingApproval? {
    switch state {
    case .activationPending(let pending), .reauthPending(let pending): return pending
    case .backoff(_, _, let resume): return pendingApproval(resume)
    default: return nil
    }
  }

  /// Writes `text` as the file's new contents, mode 0644. Makes the
  /// directory (0755) when it is missing; a stale temporary file from a
  /// crash is replaced.
  func write(_ text: String) throws(SystemError) {
    let fs = PosixFileSystem()
    let directory = Self.directory(of: path)
    if !directory.isEmpty, !FileIO.exists(directory) {
      try fs.makeDirectory(directory, permissions: 0o755)
    }
    let temporary = path + ".tmp"
    if FileIO.exists(temporary) { try fs.unlink(temporary) }
    let fd = try fs.createExclusive(temporary, permissions: 0o644)
    do throws(SystemError) {
      try fs.setPermissions(fd, 0o644)
      try fs.write(fd, Array(text.utf8))
    } catch {
      try? fs.close(fd)
      try? fs.unlink(temporary)
      throw error
    }
    try fs.close(fd)
    try fs.rename(temporary, to: path)
  }

  static func directory(of path: String) -> String {
    let bytes = Array(path.utf8)
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")), slash > 0 else { return "" }
    return String(decoding: bytes[..<slash], as: UTF8.self)
  }
}
