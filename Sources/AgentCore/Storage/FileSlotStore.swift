import CAgentSys

/// Two slots as files on a flash file system (UBIFS, JFFS2, ext4):
/// `DIR/slot0.rec` and `DIR/slot1.rec`, each one SlotFrame, mode 0600, in a
/// directory of mode 0700. A missing file is an empty slot.
///
/// A write never modifies a slot file in place: it creates `slotN.rec.tmp`
/// (O_EXCL, 0600), writes the frame, fsyncs, closes, renames it over
/// `slotN.rec` and fsyncs the directory. rename(2) replaces atomically, so
/// after a crash the slot holds the old file or the new one; the frame still
/// catches a file system that breaks that promise (a truncated file after a
/// crash on ext4 data=writeback, say). A failed write removes its temporary
/// file and leaves the slot file as it was; that holds for ENOSPC, EIO and
/// EROFS alike.
///
/// Several processes may open the same vault (the daemon, and `status` on the
/// console). A write or erase holds an exclusive flock(2) on the directory,
/// and `recover()` deletes temporary files only if it can take that lock
/// without waiting: a temporary file whose writer is alive is never taken
/// for a crash's leftover.
public struct FileSlotStore<FileSystem: FileSystemOps>: SlotStore {
  public static var filePermissions: UInt32 { 0o600 }
  public static var directoryPermissions: UInt32 { 0o700 }

  public let directory: String
  public let recordCapacity: Int
  public var slotCount: Int { 2 }
  public private(set) var fileSystem: FileSystem
  /// Stale temporary files the last `recover()` deleted.
  public private(set) var staleFilesRemoved = 0

  public init(directory: String, recordCapacity: Int = 64 * 1024, fileSystem: FileSystem) {
    precondition(!directory.isEmpty, "the slot directory must be named")
    precondition(recordCapacity > 0, "record capacity must be positive")
    self.directory = directory
    self.recordCapacity = recordCapacity
    self.fileSystem = fileSystem
  }

  public func path(slot: Int) -> String { "\(directory)/slot\(slot).rec" }
  public func temporaryPath(slot: Int) -> String { path(slot: slot) + ".tmp" }

  /// Makes sure the directory exists with mode 0700 (creating it, but not its
  /// parents, if missing; tightening its mode if looser) and deletes any
  /// `*.rec.tmp` left by a write a crash interrupted. Those were never
  /// renamed into place, so no complete record is lost. Only this store's own
  /// temporary names are touched, in case the directory is shared. A symlink
  /// in the directory's place is refused rather than followed.
  public mutating func recover() throws(StoreError) {
    let status: FileStatus?
    do throws(SystemError) {
      status = try fileSystem.status(directory)
    } catch {
      guard error.errno == ENOENT else { throw storeError(error, "lstat \(directory)") }
      status = nil
    }
    if let status {
      guard status.kind == .directory else {
        throw .unusable("\(directory) exists and is not a directory (or is a symlink)")
      }
      if status.permissions != Self.directoryPermissions {
        let directory = self.directory
        try step("chmod \(directory)") { fs throws(SystemError) in
          try fs.setPermissions(path: directory, Self.directoryPermissions)
        }
      }
    } else {
      try createDirectory()
    }

    // Another process in the middle of a write holds the lock, and its
    // temporary file is not stale: leave it (the next open cleans up).
    guard let lock = try lockDirectory(wait: false) else {
      staleFilesRemoved = 0
      return
    }
    defer { _ = close(lock) }
    let names: [String]
    do throws(SystemError) {
      names = try fileSystem.directoryEntries(directory)
    } catch {
      throw storeError(error, "list \(directory)")
    }
    var removed = 0
    for name in names where name.hasSuffix(".rec.tmp") {
      do throws(SystemError) {
        try fileSystem.unlink("\(directory)/\(name)")
        removed += 1
      } catch {
        guard error.errno == ENOENT else { throw storeError(error, "unlink \(directory)/\(name)") }
      }
    }
    if removed > 0 { try syncDirectory() }
    staleFilesRemoved = removed
  }

  public mutating func read(slot: Int) throws(StoreError) -> SlotContent {
    try checkSlot(slot)
    let file = path(slot: slot)
    let fd: Int32
    do throws(SystemError) {
      fd = try fileSystem.openForReading(file)
    } catch {
      if error.errno == ENOENT { return .empty }
      throw storeError(error, "open \(file)")
    }
    let limit = SlotFrame.encodedCount(payloadCount: recordCapacity)
    let bytes: [UInt8]
    do throws(SystemError) {
      // One byte more than the largest frame tells "too large" from "exactly full".
      bytes = try fileSystem.read(fd, limit: limit + 1)
    } catch {
      try? fileSystem.close(fd)
      throw storeError(error, "read \(file)")
    }
    // Nothing was written through this descriptor, so close cannot lose data.
    try? fileSystem.close(fd)
    guard bytes.count <= limit else { return .damaged("\(file) is larger than any record") }
    switch SlotFrame.parse(bytes, allowTrailingBytes: false) {
    case .empty: return .damaged("\(file) holds only 0xFF bytes")
    // Files are replaced whole by rename, so an incomplete one is damage, not a cut.
    case .interrupted(let why): return .damaged("\(file): \(why)")
    case let content: return content
    }
  }

  public mutating func write(slot: Int, record: [UInt8]) throws(StoreError) {
    try checkSlot(slot)
    guard record.count <= recordCapacity else {
      throw .recordTooLarge(size: record.count, capacity: recordCapacity)
    }
    let file = path(slot: slot)
    let temporary = temporaryPath(slot: slot)
    let frame = SlotFrame.encode(payload: record)
    guard let lock = try lockDirectory(wait: true) else { throw .unusable("lock \(directory)") }
    defer { _ = close(lock) }
    let fd = try createTemporary(temporary)
    do throws(StoreError) {
      try step("fchmod \(temporary)") { fs throws(SystemError) in
        try fs.setPermissions(fd, Self.filePermissions)
      }
      try step("write \(temporary)") { fs throws(SystemError) in
        try fs.write(fd, frame)
      }
      try step("fsync \(temporary)") { fs throws(SystemError) in try fs.fsync(fd) }
    } catch {
      try? fileSystem.close(fd)
      try? fileSystem.unlink(temporary)
      throw error
    }
    do throws(StoreError) {
      try step("close \(temporary)") { fs throws(SystemError) in try fs.close(fd) }
      try step("rename \(temporary) to \(file)") { fs throws(SystemError) in
        try fs.rename(temporary, to: file)
      }
    } catch {
      try? fileSystem.unlink(temporary)
      throw error
    }
    // The new file is in place; failing here means "not known to be durable",
    // and the slot may read as either record afterwards.
    try syncDirectory()
  }

  public mutating func erase(slot: Int) throws(StoreError) {
    try checkSlot(slot)
    guard let lock = try lockDirectory(wait: true) else { throw .unusable("lock \(directory)") }
    defer { _ = close(lock) }
    for file in [path(slot: slot), temporaryPath(slot: slot)] {
      do throws(SystemError) {
        try fileSystem.unlink(file)
      } catch {
        guard error.errno == ENOENT else { throw storeError(error, "unlink \(file)") }
      }
    }
    try syncDirectory()
  }

  /// O_EXCL fails on a temporary file left by an earlier failed write whose
  /// cleanup also failed; that file is never a committed record, so it is
  /// removed and the create tried once more.
  private mutating func createTemporary(_ temporary: String) throws(StoreError) -> Int32 {
    do throws(SystemError) {
      return try fileSystem.createExclusive(temporary, permissions: Self.filePermissions)
    } catch {
      guard error.errno == EEXIST else { throw storeError(error, "create \(temporary)") }
    }
    do throws(SystemError) {
      try fileSystem.unlink(temporary)
      return try fileSystem.createExclusive(temporary, permissions: Self.filePermissions)
    } catch {
      throw storeError(error, "create \(temporary)")
    }
  }

  /// The directory's exclusive lock (see the type's comment): its descriptor,
  /// or nil when `wait` is false and another process holds it.
  private func lockDirectory(wait: Bool) throws(StoreError) -> Int32? {
    let fd = ca_lock_directory(directory, wait ? 1 : 0)
    if fd >= 0 { return fd }
    let error = SystemError.last("flock \(directory)")
    if !wait && ca_would_block(error.errno) != 0 { return nil }
    throw storeError(error, "flock \(directory)")
  }

  private mutating func createDirectory() throws(StoreError) {
    do throws(SystemError) {
      try fileSystem.makeDirectory(directory, permissions: Self.directoryPermissions)
      // mkdir applies the umask; the directory must still end up 0700.
      try fileSystem.setPermissions(path: directory, Self.directoryPermissions)
      try fileSystem.fsyncDirectory(parentDirectory(of: directory))
    } catch {
      throw storeError(error, "create directory \(directory)")
    }
  }

  private mutating func syncDirectory() throws(StoreError) {
    let directory = self.directory
    try step("fsync \(directory)") { fs throws(SystemError) in try fs.fsyncDirectory(directory) }
  }

  /// Runs one file-system call, naming what was attempted if it fails. The
  /// call gets the file system as its argument and must capture only locals:
  /// `self` is being modified while it runs.
  private mutating func step(
    _ what: String, _ call: (inout FileSystem) throws(SystemError) -> Void
  ) throws(StoreError) {
    do throws(SystemError) {
      try call(&fileSystem)
    } catch {
      throw storeError(error, what)
    }
  }

  /// A read-only file system or a permission problem is a setup the operator
  /// has to fix (`.unusable`); ENOSPC, EIO and the rest keep their errno.
  private func storeError(_ error: SystemError, _ what: String) -> StoreError {
    let named = SystemError(what, errno: error.errno)
    switch error.errno {
    case EROFS, EACCES, EPERM: return .unusable(named.description)
    default: return .system(named)
    }
  }

  private func checkSlot(_ slot: Int) throws(StoreError) {
    guard slot >= 0 && slot < slotCount else {
      throw .unusable("there is no slot \(slot): the file store has slots 0 and 1")
    }
  }

  private func parentDirectory(of path: String) -> String {
    let bytes = Array(path.utf8)
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    return slash == 0 ? "/" : String(decoding: bytes[0..<slash], as: UTF8.self)
  }
}

extension FileSlotStore where FileSystem == PosixFileSystem {
  /// The store over the real file system.
  public init(directory: String, recordCapacity: Int = 64 * 1024) {
    self.init(directory: directory, recordCapacity: recordCapacity, fileSystem: PosixFileSystem())
  }
}
