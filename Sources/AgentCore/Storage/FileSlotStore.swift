import CAgentSys

/// Two slots as files on a flash file system (UBIFS, JFFS2, ext4):
/// `DIR/slot0.rec` and `DIR/slot1.rec`, each one SlotFrame, mode 0600, in a
/// directory of mode 0700. A missing file is an empty slot.
///
/// The directory is opened once, with O_NOFOLLOW, checked with fstat on that
/// descriptor, and every file in it is named relative to the descriptor and
/// opened with O_NOFOLLOW: a root-run command acts on the directory it
/// checked even if the agent's user swaps the path for a symlink meanwhile.
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
/// An erase destroys: the file is overwritten with zeroes and fsync'd before
/// it is unlinked and the directory fsync'd, so the record's blocks do not
/// linger on an in-place file system such as ext4. A file of zeroes (a crash
/// between the two) reads as `.interrupted`, an empty slot still to remove. (A log-structured one,
/// UBIFS or JFFS2, writes the zeroes elsewhere and frees the old nodes at
/// its next garbage collection; no file API can do better there.)
///
/// Several processes may open the same vault (the daemon, and `status` on the
/// console). A write or erase holds an exclusive flock(2) on the directory,
/// and `recover()` deletes temporary files only if it can take that lock
/// without waiting: a temporary file whose writer is alive is never taken
/// for a crash's leftover. The owner (`takeOwnership`) holds that lock for
/// as long as the store lives, so no other process writes meanwhile.
public struct FileSlotStore<FileSystem: FileSystemOps>: SlotStore {
  public static var filePermissions: UInt32 { 0o600 }
  public static var directoryPermissions: UInt32 { 0o700 }

  public let directory: String
  public let recordCapacity: Int
  public var slotCount: Int { 2 }
  public private(set) var fileSystem: FileSystem
  /// Stale temporary files the last `recover()` deleted.
  public private(set) var staleFilesRemoved = 0
  /// The opened vault directory, shared by copies of the store.
  private var opened: Descriptor? = nil
  /// The directory lock held by `takeOwnership`.
  private var ownerLock: Descriptor? = nil

  public init(directory: String, recordCapacity: Int = 64 * 1024, fileSystem: FileSystem) {
    precondition(!directory.isEmpty, "the slot directory must be named")
    precondition(recordCapacity > 0, "record capacity must be positive")
    self.directory = directory
    self.recordCapacity = recordCapacity
    self.fileSystem = fileSystem
  }

  public func name(slot: Int) -> String { "slot\(slot).rec" }
  public func path(slot: Int) -> String { "\(directory)/\(name(slot: slot))" }
  public func temporaryPath(slot: Int) -> String { path(slot: slot) + ".tmp" }
  public var isOwner: Bool { ownerLock != nil }

  /// Opens the directory (creating it, but not its parents, if missing;
  /// tightening its mode to 0700 if looser) and deletes any `*.rec.tmp` left
  /// by a write a crash interrupted. Those were never renamed into place, so
  /// no complete record is lost. Only this store's own temporary names are
  /// touched, in case the directory is shared. A symlink in the directory's
  /// place is refused rather than followed.
  public mutating func recover() throws(StoreError) {
    let dir = try openDirectory(creating: true)
    // Another process in the middle of a write holds the lock, and its
    // temporary file is not stale: leave it (the next open cleans up).
    var lock: Int32? = nil
    if !isOwner {
      guard let taken = try lockDirectory(dir, wait: false) else {
        staleFilesRemoved = 0
        return
      }
      lock = taken
    }
    defer { if let lock { _ = close(lock) } }
    let names: [String]
    do throws(SystemError) {
      names = try fileSystem.directoryEntries(dir)
    } catch {
      throw storeError(error, "list \(directory)")
    }
    var removed = 0
    for name in names where Word.hasSuffix(name, ".rec.tmp") {
      if try remove(name, in: dir) { removed += 1 }
    }
    if removed > 0 { try syncDirectory(dir) }
    staleFilesRemoved = removed
  }

  /// A slot file that is not a regular file (a symlink, a directory, a FIFO
  /// planted at its name) is reported as `.damaged`, not thrown: the vault
  /// then skips it and uses the other slot. Read errors (EIO) are thrown,
  /// and the vault skips that slot too.
  public mutating func read(slot: Int) throws(StoreError) -> SlotContent {
    try checkSlot(slot)
    let dir: Int32
    do throws(StoreError) {
      dir = try openDirectory(creating: false)
    } catch {
      // No directory yet (before the first `recover`): nothing was ever written.
      if case .system(let cause) = error, cause.errno == ENOENT { return .empty }
      throw error
    }
    let file = path(slot: slot)
    let fd: Int32
    do throws(SystemError) {
      fd = try fileSystem.openForReading(in: dir, name(slot: slot))
    } catch {
      if error.errno == ENOENT { return .empty }
      if error.errno == ELOOP { return .damaged("\(file) is a symlink, not a slot file") }
      throw storeError(error, "open \(file)")
    }
    // Nothing was written through this descriptor, so close cannot lose data.
    defer { try? fileSystem.close(fd) }
    let status: FileStatus
    do throws(SystemError) {
      status = try fileSystem.status(fd)
    } catch {
      throw storeError(error, "fstat \(file)")
    }
    guard status.kind == .regularFile else {
      return .damaged("\(file) is \(status.kind == .directory ? "a directory" : "not a regular file")")
    }
    let limit = SlotFrame.encodedCount(payloadCount: recordCapacity)
    let bytes: [UInt8]
    do throws(SystemError) {
      // One byte more than the largest frame tells "too large" from "exactly full".
      bytes = try fileSystem.read(fd, limit: limit + 1)
    } catch {
      throw storeError(error, "read \(file)")
    }
    guard bytes.count <= limit else { return .damaged("\(file) is larger than any record") }
    // An erase zeroes the file before unlinking it: a crash between the two
    // leaves a destroyed slot, which is as good as empty.
    if !bytes.isEmpty && bytes.allSatisfy({ $0 == 0 }) {
      return .interrupted("\(file) was zeroed by an erase a crash interrupted")
    }
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
    let dir = try openDirectory(creating: true)
    let name = self.name(slot: slot)
    let temporary = name + ".tmp"
    let frame = SlotFrame.encode(payload: record)
    let lock = try writerLock(dir)
    defer { if let lock { _ = close(lock) } }
    let fd = try createTemporary(temporary, in: dir)
    do throws(StoreError) {
      try step("fchmod \(directory)/\(temporary)") { fs throws(SystemError) in
        try fs.setPermissions(fd, Self.filePermissions)
      }
      try step("write \(directory)/\(temporary)") { fs throws(SystemError) in
        try fs.write(fd, frame)
      }
      try step("fsync \(directory)/\(temporary)") { fs throws(SystemError) in try fs.fsync(fd) }
    } catch {
      try? fileSystem.close(fd)
      try? fileSystem.unlink(in: dir, temporary, directory: false)
      throw error
    }
    do throws(StoreError) {
      try step("close \(directory)/\(temporary)") { fs throws(SystemError) in try fs.close(fd) }
      try renameIntoPlace(temporary, name, in: dir)
    } catch {
      try? fileSystem.unlink(in: dir, temporary, directory: false)
      throw error
    }
    // The new file is in place; failing here means "not known to be durable",
    // and the slot may read as either record afterwards.
    try syncDirectory(dir)
  }

  /// Destroys the slot's record: zeroes, fsync, unlink, directory fsync (see
  /// the type's comment). A cut midway leaves the slot empty or holding a
  /// file that reads as `.damaged`, never the old record with part of it gone
  /// unnoticed.
  public mutating func erase(slot: Int) throws(StoreError) {
    try checkSlot(slot)
    let dir = try openDirectory(creating: true)
    let lock = try writerLock(dir)
    defer { if let lock { _ = close(lock) } }
    let name = self.name(slot: slot)
    for file in [name, name + ".tmp"] {
      try overwrite(file, in: dir)
      _ = try remove(file, in: dir)
    }
    try syncDirectory(dir)
  }

  /// Makes this process the vault's one owner (SlotStore): an exclusive
  /// flock on the directory, without waiting, kept while any copy of this
  /// store lives. Throws `.busy` with the holder's pid when another process
  /// has it (the running daemon, usually).
  public mutating func takeOwnership() throws(StoreError) {
    guard !isOwner else { return }
    let dir = try openDirectory(creating: true)
    guard let lock = try lockDirectory(dir, wait: false) else {
      throw .busy(holder: Int(ca_flock_holder(dir)))
    }
    ownerLock = Descriptor(lock)
  }

  public mutating func releaseOwnership() {
    if let ownerLock { _ = ca_flock_release(ownerLock.fd) }
    ownerLock = nil
  }

  /// The opened directory, opening it on first use. With `creating`, a
  /// missing directory is made (0700); its mode is tightened to 0700 if looser.
  private mutating func openDirectory(creating: Bool) throws(StoreError) -> Int32 {
    if let opened { return opened.fd }
    var fd: Int32
    do throws(SystemError) {
      fd = try fileSystem.openDirectory(directory)
    } catch {
      switch error.errno {
      case ENOENT where creating:
        try createDirectory()
        do throws(SystemError) {
          fd = try fileSystem.openDirectory(directory)
        } catch {
          throw storeError(error, "open \(directory)")
        }
      case ELOOP, ENOTDIR:
        throw .unusable("\(directory) exists and is not a directory (or is a symlink)")
      default:
        throw storeError(error, "open \(directory)")
      }
    }
    let descriptor = Descriptor(fd)
    let status: FileStatus
    do throws(SystemError) {
      status = try fileSystem.status(fd)
    } catch {
      throw storeError(error, "fstat \(directory)")
    }
    guard status.kind == .directory else {
      throw .unusable("\(directory) exists and is not a directory (or is a symlink)")
    }
    if creating && status.permissions != Self.directoryPermissions {
      let directory = self.directory
      try step("chmod \(directory)") { fs throws(SystemError) in
        try fs.setPermissions(fd, Self.directoryPermissions)
      }
    }
    opened = descriptor
    return fd
  }

  /// O_EXCL fails on a temporary file left by an earlier failed write whose
  /// cleanup also failed; that file is never a committed record, so it is
  /// removed and the create tried once more.
  private mutating func createTemporary(_ temporary: String, in dir: Int32) throws(StoreError) -> Int32 {
    do throws(SystemError) {
      return try fileSystem.createExclusive(in: dir, temporary, permissions: Self.filePermissions)
    } catch {
      guard error.errno == EEXIST else { throw storeError(error, "create \(directory)/\(temporary)") }
    }
    _ = try remove(temporary, in: dir)
    do throws(SystemError) {
      return try fileSystem.createExclusive(in: dir, temporary, permissions: Self.filePermissions)
    } catch {
      throw storeError(error, "create \(directory)/\(temporary)")
    }
  }

  /// rename(2) cannot replace a directory with a file: an (empty) directory
  /// planted at the slot's name is removed and the rename tried once more.
  private mutating func renameIntoPlace(_ temporary: String, _ name: String, in dir: Int32) throws(StoreError)
  {
    let what = "rename \(directory)/\(temporary) to \(name)"
    do throws(SystemError) {
      try fileSystem.rename(in: dir, temporary, to: name)
      return
    } catch {
      guard error.errno == EISDIR || error.errno == ENOTEMPTY || error.errno == EEXIST else {
        throw storeError(error, what)
      }
    }
    do throws(SystemError) {
      try fileSystem.unlink(in: dir, name, directory: true)
      try fileSystem.rename(in: dir, temporary, to: name)
    } catch {
      throw storeError(error, what)
    }
  }

  /// Overwrites a regular file at `name` with zeroes and fsyncs it; anything
  /// else there (missing, a symlink, a directory) has no record to destroy.
  private mutating func overwrite(_ name: String, in dir: Int32) throws(StoreError) {
    let file = "\(directory)/\(name)"
    let fd: Int32
    do throws(SystemError) {
      fd = try fileSystem.openForOverwriting(in: dir, name)
    } catch {
      switch error.errno {
      case ENOENT, ELOOP, EISDIR, ENXIO: return
      default: throw storeError(error, "open \(file)")
      }
    }
    do throws(StoreError) {
      let status: FileStatus
      do throws(SystemError) {
        status = try fileSystem.status(fd)
      } catch {
        throw storeError(error, "fstat \(file)")
      }
      if status.kind == .regularFile && status.size > 0 {
        // A file larger than any frame is not a record; its head is enough.
        let limit = Int64(SlotFrame.encodedCount(payloadCount: recordCapacity))
        let zeroes = [UInt8](repeating: 0, count: Int(min(status.size, limit)))
        try step("overwrite \(file)") { fs throws(SystemError) in try fs.write(fd, zeroes) }
        try step("fsync \(file)") { fs throws(SystemError) in try fs.fsync(fd) }
      }
    } catch {
      try? fileSystem.close(fd)
      throw error
    }
    try step("close \(file)") { fs throws(SystemError) in try fs.close(fd) }
  }

  /// Unlinks `name` (or removes it as an empty directory); false if nothing was there.
  private mutating func remove(_ name: String, in dir: Int32) throws(StoreError) -> Bool {
    do throws(SystemError) {
      try fileSystem.unlink(in: dir, name, directory: false)
      return true
    } catch {
      if error.errno == ENOENT { return false }
      guard error.errno == EISDIR else { throw storeError(error, "unlink \(directory)/\(name)") }
    }
    do throws(SystemError) {
      try fileSystem.unlink(in: dir, name, directory: true)
      return true
    } catch {
      throw storeError(error, "remove directory \(directory)/\(name)")
    }
  }

  /// The lock a write or erase holds: none when this process owns the vault
  /// (its owner lock already excludes every other writer), else the
  /// directory's exclusive flock, waited for.
  private mutating func writerLock(_ dir: Int32) throws(StoreError) -> Int32? {
    if isOwner { return nil }
    guard let lock = try lockDirectory(dir, wait: true) else { throw .unusable("lock \(directory)") }
    return lock
  }

  private mutating func lockDirectory(_ dir: Int32, wait: Bool) throws(StoreError) -> Int32? {
    do throws(SystemError) {
      return try fileSystem.lockDirectory(dir, wait: wait)
    } catch {
      throw storeError(error, "flock \(directory)")
    }
  }

  private mutating func createDirectory() throws(StoreError) {
    do throws(SystemError) {
      try fileSystem.makeDirectory(directory, permissions: Self.directoryPermissions)
      try fileSystem.fsyncDirectory(parentDirectory(of: directory))
    } catch {
      throw storeError(error, "create directory \(directory)")
    }
  }

  private mutating func syncDirectory(_ dir: Int32) throws(StoreError) {
    let directory = self.directory
    try step("fsync \(directory)") { fs throws(SystemError) in try fs.fsync(dir) }
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

/// A descriptor closed when the last copy of the store holding it goes.
/// Read-only directory descriptors and lock descriptors only: closing them
/// cannot lose data, so the close result is not needed.
final class Descriptor {
  let fd: Int32
  init(_ fd: Int32) { self.fd = fd }
  deinit { _ = close(fd) }
}

extension FileSlotStore where FileSystem == PosixFileSystem {
  /// The store over the real file system.
  public init(directory: String, recordCapacity: Int = 64 * 1024) {
    self.init(directory: directory, recordCapacity: recordCapacity, fileSystem: PosixFileSystem())
  }
}
