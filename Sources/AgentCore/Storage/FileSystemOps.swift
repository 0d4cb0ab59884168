import CAgentSys

/// The file-system calls FileSlotStore makes, and nothing more. A generic
/// parameter of the store rather than direct calls, in the manner of
/// swift-system's mocking layer: tests wrap `PosixFileSystem` in a double
/// that fails the k-th fsync with EIO or the k-th write with ENOSPC, so
/// "disk full" and "fsync failed" are ordinary unit tests.
///
/// Paths are resolved once: the store opens its directory with
/// `openDirectory` (a symlink in its place is refused) and checks what it got
/// with `status` on the descriptor; every later call names a file relative to
/// that descriptor and never follows a symlink there. A root-run command
/// therefore acts on the directory it checked, even if the agent's user
/// swaps the path for a symlink in between (issue 13, item 4).
///
/// Every call reports failure as the errno it got; the store adds the name.
public protocol FileSystemOps {
  /// open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW): ELOOP or ENOTDIR when
  /// `path` is a symlink or not a directory.
  mutating func openDirectory(_ path: String) throws(SystemError) -> Int32
  /// mkdir(path, permissions): only to create a missing vault directory.
  mutating func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError)
  /// fsync of the directory at `path`: makes a new vault directory's name durable in its parent.
  mutating func fsyncDirectory(_ path: String) throws(SystemError)
  /// fstat of an open descriptor: what it is, not what a path names now.
  mutating func status(_ fd: Int32) throws(SystemError) -> FileStatus
  /// openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK): a symlink fails
  /// with ELOOP, a FIFO opens without waiting for a writer.
  mutating func openForReading(in dir: Int32, _ name: String) throws(SystemError) -> Int32
  /// openat(dir, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK): an existing
  /// file, to overwrite it before it is removed.
  mutating func openForOverwriting(in dir: Int32, _ name: String) throws(SystemError) -> Int32
  /// openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
  /// permissions): never reuses or follows anything already at `name`.
  mutating func createExclusive(in dir: Int32, _ name: String, permissions: UInt32) throws(SystemError)
    -> Int32
  /// Reads from the current position until end of file or `limit` bytes.
  mutating func read(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8]
  /// Writes all of `bytes` (a short write is retried, not reported).
  mutating func write(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError)
  /// fchmod, of a file or of the opened directory: the umask must not decide
  /// a secret file's mode.
  mutating func setPermissions(_ fd: Int32, _ permissions: UInt32) throws(SystemError)
  /// fsync of a file, or of the opened directory (what makes a rename or
  /// unlink in it durable).
  mutating func fsync(_ fd: Int32) throws(SystemError)
  /// close; on some file systems this is where a deferred write error shows.
  mutating func close(_ fd: Int32) throws(SystemError)
  /// renameat within `dir`.
  mutating func rename(in dir: Int32, _ from: String, to: String) throws(SystemError)
  /// unlinkat within `dir`; `directory` removes an empty directory instead.
  mutating func unlink(in dir: Int32, _ name: String, directory: Bool) throws(SystemError)
  /// Entry names in the directory `dir` is open on, without "." and "..".
  mutating func directoryEntries(_ dir: Int32) throws(SystemError) -> [String]
  /// An exclusive flock(2) on a new open file description of `dir`: its
  /// descriptor (close it to unlock), or nil when `wait` is false and
  /// another description holds the lock.
  mutating func lockDirectory(_ dir: Int32, wait: Bool) throws(SystemError) -> Int32?
}

/// The part of fstat(2) the store looks at.
public struct FileStatus: Equatable {
  public enum Kind: Equatable {
    case directory
    case regularFile
    /// A symlink, device, socket or FIFO.
    case other
  }

  public var kind: Kind
  /// The 07777 bits of st_mode.
  public var permissions: UInt32
  public var size: Int64

  public init(kind: Kind, permissions: UInt32, size: Int64 = 0) {
    self.kind = kind
    self.permissions = permissions
    self.size = size
  }
}

/// The real calls, through the CAgentSys shims.
public struct PosixFileSystem: FileSystemOps {
  public init() {}

  public func openDirectory(_ path: String) throws(SystemError) -> Int32 {
    let fd = ca_open_directory_nofollow(path)
    guard fd >= 0 else { throw .last("open") }
    return fd
  }

  public func status(_ fd: Int32) throws(SystemError) -> FileStatus {
    var kind: Int32 = 0
    var permissions: UInt32 = 0
    var size: Int64 = 0
    guard ca_fstat_kind(fd, &kind, &permissions, &size) == 0 else { throw .last("fstat") }
    switch kind {
    case 1: return FileStatus(kind: .directory, permissions: permissions, size: size)
    case 2: return FileStatus(kind: .regularFile, permissions: permissions, size: size)
    default: return FileStatus(kind: .other, permissions: permissions, size: size)
    }
  }

  public func openForReading(in dir: Int32, _ name: String) throws(SystemError) -> Int32 {
    let fd = ca_openat_nofollow(dir, name, 0, 0)
    guard fd >= 0 else { throw .last("open") }
    return fd
  }

  public func openForOverwriting(in dir: Int32, _ name: String) throws(SystemError) -> Int32 {
    let fd = ca_openat_nofollow(dir, name, 1, 0)
    guard fd >= 0 else { throw .last("open") }
    return fd
  }

  public func createExclusive(in dir: Int32, _ name: String, permissions: UInt32) throws(SystemError)
    -> Int32
  {
    let fd = ca_openat_nofollow(dir, name, 2, permissions)
    guard fd >= 0 else { throw .last("open") }
    return fd
  }

  public func rename(in dir: Int32, _ from: String, to: String) throws(SystemError) {
    guard ca_renameat(dir, from, to) == 0 else { throw .last("rename") }
  }

  public func unlink(in dir: Int32, _ name: String, directory: Bool) throws(SystemError) {
    guard ca_unlinkat(dir, name, directory ? 1 : 0) == 0 else { throw .last("unlink") }
  }

  public func directoryEntries(_ dir: Int32) throws(SystemError) -> [String] {
    guard let handle = ca_dir_open_at(dir) else { throw .last("opendir") }
    return try Self.names(handle)
  }

  public func lockDirectory(_ dir: Int32, wait: Bool) throws(SystemError) -> Int32? {
    let fd = ca_reopen_directory(dir)
    guard fd >= 0 else { throw .last("open") }
    guard ca_flock_exclusive(fd, wait ? 1 : 0) == 0 else {
      let error = SystemError.last("flock")
      _ = CAgentSys.close(fd)
      if !wait && ca_would_block(error.errno) != 0 { return nil }
      throw error
    }
    return fd
  }

  public func read(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: limit)
    let count = out.withUnsafeMutableBytes { ca_read_full(fd, $0.baseAddress, $0.count) }
    guard count >= 0 else { throw .last("read") }
    out.removeLast(limit - count)
    return out
  }

  public func write(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
    let count = bytes.withUnsafeBytes { ca_write_full(fd, $0.baseAddress, $0.count) }
    guard count == bytes.count else { throw .last("write") }
  }

  public func setPermissions(_ fd: Int32, _ permissions: UInt32) throws(SystemError) {
    guard fchmod(fd, permissions) == 0 else { throw .last("fchmod") }
  }

  public func fsync(_ fd: Int32) throws(SystemError) {
    guard ca_fsync(fd) == 0 else { throw .last("fsync") }
  }

  public func close(_ fd: Int32) throws(SystemError) {
    guard CAgentSys.close(fd) == 0 else { throw .last("close") }
  }

  public func fsyncDirectory(_ path: String) throws(SystemError) {
    guard ca_fsync_directory(path) == 0 else { throw .last("fsync directory") }
  }

  public func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError) {
    guard mkdir(path, permissions) == 0 else { throw .last("mkdir") }
  }

  // Path-based calls for the state file under /run (Daemon/StateFile.swift),
  // which is not a secret and lives in a directory only the agent writes.

  public func createExclusive(_ path: String, permissions: UInt32) throws(SystemError) -> Int32 {
    let fd = ca_open(path, ca_flag_wronly_create_excl(), permissions)
    guard fd >= 0 else { throw .last("open") }
    return fd
  }

  public func rename(_ from: String, to: String) throws(SystemError) {
    guard CAgentSys.rename(from, to) == 0 else { throw .last("rename") }
  }

  public func unlink(_ path: String) throws(SystemError) {
    guard CAgentSys.unlink(path) == 0 else { throw .last("unlink") }
  }

  private static func names(_ handle: UnsafeMutableRawPointer) throws(SystemError) -> [String] {
    defer { ca_dir_close(handle) }
    var names: [String] = []
    // NAME_MAX is 255 on every Linux file system.
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
      let length = buffer.withUnsafeMutableBufferPointer {
        ca_dir_next_name(handle, $0.baseAddress, $0.count)
      }
      if length == 0 { return names }
      if length == -2 { throw SystemError("readdir", errno: ENAMETOOLONG) }
      guard length > 0 else { throw .last("readdir") }
      let bytes = buffer[0..<Int(length)].map { UInt8(truncatingIfNeeded: $0) }
      names.append(String(decoding: bytes, as: UTF8.self))
    }
  }
}
