/// The local state interface other firmware processes read (LED, speaker,
/// pairing UI): a small `key=value` file under /run, replaced atomically
/// (temporary file, then rename) so a reader sees the old or the new
/// contents, never half of one. It never holds a token: only the state
/// name and, while the owner's approval is pending, the code to show.
struct StateFile {
  let path: String

  /// The file's contents for `state` (`stopped` when the daemon has ended).
  static func render(_ state: PublishedState?) -> String {
    guard let state else { return "state=stopped\n" }
    var text = "state=\(state.name)\n"
    if let code = state.userCode, let uri = state.verificationURI, let expiresAt = state.codeExpiresAt {
      text += "user_code=\(code)\n"
      text += "verification_uri=\(uri)\n"
      text += "expires_at=\(expiresAt / 1_000)\n"
    }
    if let retryAt = state.retryAt { text += "retry_at=\(retryAt / 1_000)\n" }
    return text
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
