/// The local state interface other firmware processes read (LED, speaker,
/// pairing UI): a small `key=value` file under /run, replaced atomically
/// (temporary file, then rename) so a reader sees the old or the new
/// contents, never half of one. It never holds a token: only the state
/// name and, while the owner's approval is pending, the code to show.
///
/// Readers may `.` (source) the file from a shell script, so every line is
/// a shell assignment that expands nothing: a value made only of
/// `shellSafe` bytes is written bare; any other value (a server-chosen
/// verification URI may hold `$`, `(`, `;`, `&`, `'`) is written in single
/// quotes, with each `'` as `'\''`, the one quoting form in which a POSIX
/// shell interprets nothing.
///
/// The file is mode 0640. Its group is the directory's when the directory
/// is set-group-ID (the init script and the systemd unit make
/// /run/camera-agent `2750 camera-agent:<pairing UI group>`, the group the
/// board definition names as `STATE_GROUP`), so the pairing UI can read the
/// code and other users cannot.
struct StateFile {
  let path: String

  static let mode: UInt32 = 0o640
  /// Bytes a value may hold unquoted: none of them is special to a POSIX
  /// shell in the value of an assignment (no `~`, which expands after `=`).
  static func isShellSafe(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"),
      UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "%"),
      UInt8(ascii: "="), UInt8(ascii: "-"):
      return true
    default:
      return false
    }
  }

  /// The file's contents for `state` (`stopped` when the daemon has ended).
  static func render(_ state: PublishedState?) -> String {
    var text = ""
    for (key, value) in fields(state) { text += key + "=" + quoted(value) + "\n" }
    return text
  }

  /// The file's keys and raw values, in order.
  static func fields(_ state: PublishedState?) -> [(String, String)] {
    guard let state else { return [("state", "stopped")] }
    var fields = [("state", state.name)]
    if let code = state.userCode, let uri = state.verificationURI, let expiresAt = state.codeExpiresAt {
      fields.append(("user_code", code))
      fields.append(("verification_uri", uri))
      fields.append(("expires_at", "\(expiresAt / 1_000)"))
    }
    if let retryAt = state.retryAt { fields.append(("retry_at", "\(retryAt / 1_000)")) }
    return fields
  }

  /// `value` as the right-hand side of a shell assignment that expands nothing.
  static func quoted(_ value: String) -> String {
    let bytes = Array(value.utf8)
    if !bytes.isEmpty, bytes.allSatisfy(isShellSafe) { return value }
    var out: [UInt8] = [UInt8(ascii: "'")]
    for byte in bytes {
      if byte == UInt8(ascii: "'") {
        out += Array("'\\''".utf8)
      } else {
        out.append(byte)
      }
    }
    out.append(UInt8(ascii: "'"))
    return String(decoding: out, as: UTF8.self)
  }

  /// The raw value of a right-hand side `quoted` wrote; nil for anything
  /// else (the daemon only ever parses its own text).
  static func unquoted(_ text: Substring) -> String? {
    let bytes = Array(text.utf8)
    guard bytes.first == UInt8(ascii: "'") else {
      return bytes.allSatisfy(isShellSafe) ? String(text) : nil
    }
    var out: [UInt8] = []
    var index = 1
    let escaped = Array("'\\''".utf8)
    while index < bytes.count {
      if bytes[index] == UInt8(ascii: "'") {
        if index == bytes.count - 1 { return String(decoding: out, as: UTF8.self) }
        guard index + 4 <= bytes.count, Array(bytes[index..<index + 4]) == escaped else { return nil }
        out.append(UInt8(ascii: "'"))
        index += 4
      } else {
        out.append(bytes[index])
        index += 1
      }
    }
    return nil
  }

  /// Writes `text` as the file's new contents, mode 0640. Makes the
  /// directory (0750) when it is missing; a stale temporary file from a
  /// crash is replaced.
  func write(_ text: String) throws(SystemError) {
    let fs = PosixFileSystem()
    let directory = Self.directory(of: path)
    if !directory.isEmpty, !FileIO.exists(directory) {
      try fs.makeDirectory(directory, permissions: 0o750)
    }
    let temporary = path + ".tmp"
    if FileIO.exists(temporary) { try fs.unlink(temporary) }
    let fd = try fs.createExclusive(temporary, permissions: Self.mode)
    do throws(SystemError) {
      try fs.setPermissions(fd, Self.mode)
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
