import CAgentSys

/// The file-system calls FileSlotStore makes, and nothing more. A generic
/// parameter of the store rather than direct calls, in the manner of
/// swift-system's mocking layer: tests wrap `PosixFileSystem` in a double
/// that fails the k-th fsync with EIO or the k-th write with ENOSPC, so
/// "disk full" and "fsync failed" are ordinary unit tests.
///
/// Every call reports failure as the errno it got; the store adds the path.
public protocol FileSystemOps {
  /// open(O_RDONLY | O_NOFOLLOW): a symlink in a slot's place is refused.
  mutating func openForReading(_ path: String) throws(SystemError) -> Int32
  /// open(O_WRONLY | O_CREAT | O_EXCL, permissions): never reuses or
  /// follows anything already at `path`.
  mutating func createExclusive(_ path: String, permissions: UInt32) throws(SystemError) -> Int32
  /// Reads from the current position until end of file or `limit` bytes.
  mutating func read(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8]
  /// Writes all of `bytes` (a short write is retried, not reported).
  mutating func write(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError)
  /// fchmod: the umask must not decide a secret file's mode.
  mutating func setPermissions(_ fd: Int32, _ permissions: UInt32) throws(SystemError)
  mutating func fsync(_ fd: Int32) throws(SystemError)
  /// close; on some file systems this is where a deferred write error shows.
  mutating func close(_ fd: Int32) throws(SystemError)
  mutating func rename(_ from: String, to: String) throws(SystemError)
  mutating func unlink(_ path: String) throws(SystemError)
  /// fsync of the directory itself: what makes a rename or unlink in it durable.
  mutating func fsyncDirectory(_ path: String) throws(SystemError)
  mutating func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError)
  mutating func setPermissions(path: String, _ permissions: UInt32) throws(SystemError)
  /// lstat: a symlink reports as `.other`, not as what it points to.
  mutating func status(_ path: String) throws(SystemError) -> FileStatus
  /// Entry names in `path`, without "." and "..".
  mutating func directoryEntries(_ path: String) throws(SystemError) -> [String]
}

/// The part of lstat(2) the store looks at.
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

  public init(kind: Kind, permissions: UInt32) {
    self.kind = kind
    self.permissions = permissions
  }
}

/// The real calls, through the CAgentSys shims.
public struct PosixFileSystem: FileSystemOps {
  public init() {}

  public func openForReading(_ path: String) throws(SystemError) -> Int32 {
    let fd = ca_open(path, ca_flag_rdonly_nofollow(), 0)
    guard fd >= 0 else { throw .last("open") }
    return fd
  }

  public func createExclusive(_ path: String, permissions: UInt32) throws(SystemError) -> Int32 {
    let fd = ca_open(path, ca_flag_wronly_create_excl(), permissions)
    guard fd >= 0 else { throw .last("open") }
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

  public func rename(_ from: String, to: String) throws(SystemError) {
    guard CAgentSys.rename(from, to) == 0 else { throw .last("rename") }
  }

  public func unlink(_ path: String) throws(SystemError) {
    guard CAgentSys.unlink(path) == 0 else { throw .last("unlink") }
  }

  public func fsyncDirectory(_ path: String) throws(SystemError) {
    guard ca_fsync_directory(path) == 0 else { throw .last("fsync directory") }
  }

  public func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError) {
    guard mkdir(path, permissions) == 0 else { throw .last("mkdir") }
  }

  public func setPermissions(path: String, _ permissions: UInt32) throws(SystemError) {
    guard chmod(path, permissions) == 0 else { throw .last("chmod") }
  }

  public func status(_ path: String) throws(SystemError) -> FileStatus {
    var kind: Int32 = 0
    var permissions: UInt32 = 0
    guard ca_lstat_kind(path, &kind, &permissions) == 0 else { throw .last("lstat") }
    switch kind {
    case 1: return FileStatus(kind: .directory, permissions: permissions)
    case 2: return FileStatus(kind: .regularFile, permissions: permissions)
    default: return FileStatus(kind: .other, permissions: permissions)
    }
  }

  public func directoryEntries(_ path: String) throws(SystemError) -> [String] {
    guard let dir = ca_dir_open(path) else { throw .last("opendir") }
    defer { ca_dir_close(dir) }
    var names: [String] = []
    // NAME_MAX is 255 on every Linux file system.
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
      let length = buffer.withUnsafeMutableBufferPointer { ca_dir_next_name(dir, $0.baseAddress, $0.count) }
      if length == 0 { return names }
      if length == -2 { throw SystemError("readdir", errno: ENAMETOOLONG) }
      guard length > 0 else { throw .last("readdir") }
      let bytes = buffer[0..<Int(length)].map { UInt8(truncatingIfNeeded: $0) }
      names.append(String(decoding: bytes, as: UTF8.self))
    }
  }
}
