import AgentCore
import CAgentSys

/// The real file system with failures on schedule, after swift-system's
/// mocking driver: "the 2nd fsync from now fails with EIO". Every call is
/// logged, so a test can first record what a write does and then fail each
/// of those calls in turn. An fsync or fchmod of a descriptor that
/// `openDirectory` returned counts as `.fsyncDirectory` or `.setPathPermissions`,
/// so a test can fail the directory's fsync apart from a file's.
public struct FaultyFileSystem: FileSystemOps {
  public enum Call: Hashable, CustomStringConvertible {
    case openDirectory, openForReading, openForOverwriting, createExclusive, read, write, setPermissions
    case fsync, close, rename, unlink, fsyncDirectory, makeDirectory, setPathPermissions, status
    case directoryEntries, lockDirectory

    public var description: String {
      switch self {
      case .openDirectory: return "openDirectory"
      case .openForReading: return "openForReading"
      case .openForOverwriting: return "openForOverwriting"
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
      case .lockDirectory: return "lockDirectory"
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
  /// Descriptors `openDirectory` handed out.
  private var directories: Set<Int32> = []
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

  /// A crash: after `calls` more calls of any kind, every call fails with
  /// EIO and does nothing, as if the process had died there (what was done
  /// before stays done; the page cache is not modelled).
  public mutating func crash(afterCalls calls: Int) { crashAt = log.count + calls }
  private var crashAt: Int? = nil

  /// Counts the call and returns the errno it must fail with, if any.
  private mutating func enter(_ call: Call) -> Int32? {
    counts[call, default: 0] += 1
    log.append(call)
    if let crashAt, log.count > crashAt { return EIO }
    guard let index = faults.firstIndex(where: { $0.call == call && $0.number == counts[call] }) else {
      return nil
    }
    return faults.remove(at: index).errno
  }

  public mutating func openDirectory(_ path: String) throws(SystemError) -> Int32 {
    if let errno = enter(.openDirectory) { throw SystemError("open", errno: errno) }
    let fd = try real.openDirectory(path)
    directories.insert(fd)
    return fd
  }

  public mutating func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError) {
    if let errno = enter(.makeDirectory) { throw SystemError("mkdir", errno: errno) }
    try real.makeDirectory(path, permissions: permissions)
  }

  public mutating func fsyncDirectory(_ path: String) throws(SystemError) {
    if let errno = enter(.fsyncDirectory) { throw SystemError("fsync", errno: errno) }
    try real.fsyncDirectory(path)
  }

  public mutating func status(_ fd: Int32) throws(SystemError) -> FileStatus {
    if let errno = enter(.status) { throw SystemError("fstat", errno: errno) }
    return try real.status(fd)
  }

  public mutating func openForReading(in dir: Int32, _ name: String) throws(SystemError) -> Int32 {
    if let errno = enter(.openForReading) { throw SystemError("open", errno: errno) }
    return try real.openForReading(in: dir, name)
  }

  public mutating func openForOverwriting(in dir: Int32, _ name: String) throws(SystemError) -> Int32 {
    if let errno = enter(.openForOverwriting) { throw SystemError("open", errno: errno) }
    return try real.openForOverwriting(in: dir, name)
  }

  public mutating func createExclusive(in dir: Int32, _ name: String, permissions: UInt32) throws(SystemError)
    -> Int32
  {
    if let errno = enter(.createExclusive) { throw SystemError("open", errno: errno) }
    return try real.createExclusive(in: dir, name, permissions: permissions)
  }

  public mutating func read(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8] {
    if let errno = enter(.read) { throw SystemError("read", errno: errno) }
    return try real.read(fd, limit: limit)
  }

  public mutating func write(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
    if let errno = enter(.write) {
      if !isCrashed { try real.write(fd, Array(bytes[0..<bytes.count / 2])) }
      throw SystemError("write", errno: errno)
    }
    try real.write(fd, bytes)
  }

  public mutating func setPermissions(_ fd: Int32, _ permissions: UInt32) throws(SystemError) {
    let call: Call = directories.contains(fd) ? .setPathPermissions : .setPermissions
    if let errno = enter(call) { throw SystemError("fchmod", errno: errno) }
    try real.setPermissions(fd, permissions)
  }

  public mutating func fsync(_ fd: Int32) throws(SystemError) {
    let call: Call = directories.contains(fd) ? .fsyncDirectory : .fsync
    if let errno = enter(call) { throw SystemError("fsync", errno: errno) }
    try real.fsync(fd)
  }

  private var isCrashed: Bool { crashAt.map { log.count > $0 } ?? false }

  public mutating func close(_ fd: Int32) throws(SystemError) {
    if let errno = enter(.close) {
      // close(2) releases the descriptor even when it reports an error.
      try? real.close(fd)
      throw SystemError("close", errno: errno)
    }
    try real.close(fd)
  }

  public mutating func rename(in dir: Int32, _ from: String, to: String) throws(SystemError) {
    if let errno = enter(.rename) { throw SystemError("rename", errno: errno) }
    try real.rename(in: dir, from, to: to)
  }

  public mutating func unlink(in dir: Int32, _ name: String, directory: Bool) throws(SystemError) {
    if let errno = enter(.unlink) { throw SystemError("unlink", errno: errno) }
    try real.unlink(in: dir, name, directory: directory)
  }

  public mutating func directoryEntries(_ dir: Int32) throws(SystemError) -> [String] {
    if let errno = enter(.directoryEntries) { throw SystemError("readdir", errno: errno) }
    return try real.directoryEntries(dir)
  }

  public mutating func lockDirectory(_ dir: Int32, wait: Bool) throws(SystemError) -> Int32? {
    if let errno = enter(.lockDirectory) { throw SystemError("flock", errno: errno) }
    return try real.lockDirectory(dir, wait: wait)
  }
}
