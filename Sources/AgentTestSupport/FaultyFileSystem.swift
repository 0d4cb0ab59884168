import AgentCore

/// The real file system with failures on schedule, after swift-system's
/// mocking driver: "the 2nd fsync from now fails with EIO". Every call is
/// logged, so a test can first record what a write does and then fail each
/// of those calls in turn.
public struct FaultyFileSystem: FileSystemOps {
  public enum Call: Hashable, CustomStringConvertible {
    case openForReading, createExclusive, read, write, setPermissions, fsync, close, rename, unlink
    case fsyncDirectory, makeDirectory, setPathPermissions, status, directoryEntries

    public var description: String {
      switch self {
      case .openForReading: return "openForReading"
      case .createExclusive: return "createExclusive"
      case .read: return "read"
      case .write: return "write"
      case .setPermissions: return "fchmod"
      case .fsync: return "fsync"
      case .close: return "close"
      case .rename: return "rename"
      case .unlink: return "unlink"
      case .fsyncDirectory: return "fsyncDirectory"
      case .makeDirectory: return "makeDirectory"
      case .setPathPermissions: return "chmod"
      case .status: return "status"
      case .directoryEntries: return "directoryEntries"
      }
    }
  }

  private struct Fault {
    var call: Call
    var number: Int
    var errno: Int32
  }

  private var real = PosixFileSystem()
  private var faults: [Fault] = []
  public init() {}

  public private(set) var counts: [Call: Int] = [:]
  public private(set) var log: [Call] = []

  /// The `nth` call of kind `call` from now fails with `errno`, doing
  /// nothing, except a failing write, which first writes half its bytes
  /// (the way a disk fills up part way through).
  public mutating func fail(_ call: Call, errno: Int32, nth: Int = 1) {
    faults.append(Fault(call: call, number: counts[call, default: 0] + nth, errno: errno))
  }

  public mutating func clearLog() { log = [] }

  /// Counts the call and returns the errno it must fail with, if any.
  private mutating func enter(_ call: Call) -> Int32? {
    counts[call, default: 0] += 1
    log.append(call)
    guard let index = faults.firstIndex(where: { $0.call == call && $0.number == counts[call] }) else {
      return nil
    }
    return faults.remove(at: index).errno
  }

  public mutating func openForReading(_ path: String) throws(SystemError) -> Int32 {
    if let errno = enter(.openForReading) { throw SystemError("open", errno: errno) }
    return try real.openForReading(path)
  }

  public mutating func createExclusive(_ path: String, permissions: UInt32) throws(SystemError) -> Int32 {
    if let errno = enter(.createExclusive) { throw SystemError("open", errno: errno) }
    return try real.createExclusive(path, permissions: permissions)
  }

  public mutating func read(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8] {
    if let errno = enter(.read) { throw SystemError("read", errno: errno) }
    return try real.read(fd, limit: limit)
  }

  public mutating func write(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
    if let errno = enter(.write) {
      try real.write(fd, Array(bytes[0..<bytes.count / 2]))
      throw SystemError("write", errno: errno)
    }
    try real.write(fd, bytes)
  }

  public mutating func setPermissions(_ fd: Int32, _ permissions: UInt32) throws(SystemError) {
    if let errno = enter(.setPermissions) { throw SystemError("fchmod", errno: errno) }
    try real.setPermissions(fd, permissions)
  }

  public mutating func fsync(_ fd: Int32) throws(SystemError) {
    if let errno = enter(.fsync) { throw SystemError("fsync", errno: errno) }
    try real.fsync(fd)
  }

  public mutating func close(_ fd: Int32) throws(SystemError) {
    if let errno = enter(.close) {
      // close(2) releases the descriptor even when it reports an error.
      try? real.close(fd)
      throw SystemError("close", errno: errno)
    }
    try real.close(fd)
  }

  public mutating func rename(_ from: String, to: String) throws(SystemError) {
    if let errno = enter(.rename) { throw SystemError("rename", errno: errno) }
    try real.rename(from, to: to)
  }

  public mutating func unlink(_ path: String) throws(SystemError) {
    if let errno = enter(.unlink) { throw SystemError("unlink", errno: errno) }
    try real.unlink(path)
  }

  public mutating func fsyncDirectory(_ path: String) throws(SystemError) {
    if let errno = enter(.fsyncDirectory) { throw SystemError("fsync", errno: errno) }
    try real.fsyncDirectory(path)
  }

  public mutating func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError) {
    if let errno = enter(.makeDirectory) { throw SystemError("mkdir", errno: errno) }
    try real.makeDirectory(path, permissions: permissions)
  }

  public mutating func setPermissions(path: String, _ permissions: UInt32) throws(SystemError) {
    if let errno = enter(.setPathPermissions) { throw SystemError("chmod", errno: errno) }
    try real.setPermissions(path: path, permissions)
  }

  public mutating func status(_ path: String) throws(SystemError) -> FileStatus {
    if let errno = enter(.status) { throw SystemError("lstat", errno: errno) }
    return try real.status(path)
  }

  public mutating func directoryEntries(_ path: String) throws(SystemError) -> [String] {
    if let errno = enter(.directoryEntries) { throw SystemError("readdir", errno: errno) }
    return try real.directoryEntries(path)
  }
}
