import AgentCore
import AgentTestSupport
import CAgentSys
import Foundation
import Testing

@Suite struct FileSlotStoreTests {
  /// A fresh parent folder; the store's own directory ("vault") does not
  /// exist yet, so recover() has to create it.
  final class Sandbox {
    let parent: String
    var directory: String { parent + "/vault" }

    init() throws {
      parent =
        FileManager.default.temporaryDirectory.appendingPathComponent("slot-store-\(UUID().uuidString)").path
      try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: parent) }

    func store() -> FileSlotStore<FaultyFileSystem> {
      FileSlotStore(directory: directory, recordCapacity: 4096, fileSystem: FaultyFileSystem())
    }

    func permissions(_ path: String) throws -> Int {
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      return (attributes[.posixPermissions] as! NSNumber).intValue
    }

    func contents(_ path: String) -> [UInt8]? {
      FileManager.default.contents(atPath: path).map { Array($0) }
    }

    func entries() throws -> [String] {
      try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func put(_ bytes: [UInt8], at path: String) {
      #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    }
  }

  static let old = Array("the old record".utf8)
  static let new = Array("the new record, somewhat longer".utf8)

  static func isDamaged(_ content: SlotContent) -> Bool {
    if case .damaged = content { return true }
    return false
  }

  /// A store whose slot 0 holds `old`, its fault log cleared.
  static func prepared(_ sandbox: Sandbox) throws -> FileSlotStore<FaultyFileSystem> {
    var store = sandbox.store()
    try store.recover()
    try store.write(slot: 0, record: old)
    return store
  }

  // MARK: Round trip and modes

  @Test func roundTripWithModes() throws {
    let sandbox = try Sandbox()
    var store = sandbox.store()
    try store.recover()
    #expect(try sandbox.permissions(sandbox.directory) == 0o700)
    #expect(try store.read(slot: 0) == .empty)
    #expect(try store.read(slot: 1) == .empty)

    try store.write(slot: 0, record: Self.old)
    try store.write(slot: 1, record: [])
    #expect(try store.read(slot: 0) == .record(Self.old))
    #expect(try store.read(slot: 1) == .record([]))
    #expect(try sandbox.entries() == ["slot0.rec", "slot1.rec"])
    #expect(try sandbox.permissions(store.path(slot: 0)) == 0o600)
    #expect(try sandbox.permissions(store.path(slot: 1)) == 0o600)
    #expect(sandbox.contents(store.path(slot: 0)) == SlotFrame.encode(payload: Self.old))

    try store.write(slot: 0, record: Self.new)
    #expect(try store.read(slot: 0) == .record(Self.new))

    try store.erase(slot: 0)
    #expect(try store.read(slot: 0) == .empty)
    #expect(try sandbox.entries() == ["slot1.rec"])
    try store.erase(slot: 0)

    // A second store over the same directory (a reboot) sees the same.
    var reopened = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096)
    try reopened.recover()
    #expect(reopened.staleFilesRemoved == 0)
    #expect(try reopened.read(slot: 1) == .record([]))
    #expect(try reopened.read(slot: 0) == .empty)
  }

  @Test func writeSequenceIsTempFsyncRenameFsyncDirectory() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: FaultyFileSystem())
    try store.write(slot: 1, record: Self.new)
    #expect(
      store.fileSystem.log == [
        .openDirectory, .status, .lockDirectory, .createExclusive, .setPermissions, .write, .fsync, .close,
        .rename, .fsyncDirectory,
      ])
  }

  @Test func refusalsLeaveNothingBehind() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    #expect(throws: StoreError.recordTooLarge(size: 4097, capacity: 4096)) {
      try store.write(slot: 1, record: [UInt8](repeating: 1, count: 4097))
    }
    #expect(throws: StoreError.self) { try store.write(slot: 2, record: []) }
    #expect(throws: StoreError.self) { _ = try store.read(slot: -1) }
    #expect(try sandbox.entries() == ["slot0.rec"])
  }

  @Test func recoverTightensAnExistingDirectory() throws {
    let sandbox = try Sandbox()
    try FileManager.default.createDirectory(
      atPath: sandbox.directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
    var store = sandbox.store()
    try store.recover()
    #expect(try sandbox.permissions(sandbox.directory) == 0o700)
  }

  @Test func recoverRefusesWhatIsNotADirectory() throws {
    let sandbox = try Sandbox()
    sandbox.put([1, 2, 3], at: sandbox.directory)
    var store = sandbox.store()
    #expect(throws: StoreError.self) { try store.recover() }

    let linked = try Sandbox()
    try FileManager.default.createDirectory(
      atPath: linked.parent + "/real", withIntermediateDirectories: false)
    try FileManager.default.createSymbolicLink(
      atPath: linked.directory, withDestinationPath: linked.parent + "/real")
    var symlinked = linked.store()
    do {
      try symlinked.recover()
      Issue.record("a symlinked directory was accepted")
    } catch {
      guard case .unusable(let why) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(why.contains("not a directory"))
    }
  }

  @Test func recoverDeletesStaleTemporaryFilesOnly() throws {
    let sandbox = try Sandbox()
    let store = try Self.prepared(sandbox)
    // A crash after the temp file was written but before the rename.
    sandbox.put(SlotFrame.encode(payload: Self.new), at: store.temporaryPath(slot: 0))
    sandbox.put(Array(SlotFrame.encode(payload: Self.new).prefix(9)), at: store.temporaryPath(slot: 1))
    sandbox.put([1], at: sandbox.directory + "/notes.tmp")

    var rebooted = sandbox.store()
    try rebooted.recover()
    #expect(rebooted.staleFilesRemoved == 2)
    #expect(try sandbox.entries() == ["notes.tmp", "slot0.rec"])
    #expect(try rebooted.read(slot: 0) == .record(Self.old))
    #expect(try rebooted.read(slot: 1) == .empty)
    // The deletions were made durable.
    #expect(rebooted.fileSystem.counts[.fsyncDirectory] == 1)
  }

  /// Another process (`camera-agent status` on the console) opening the vault
  /// while the daemon is between writing its temporary file and renaming it
  /// must not delete that file: the writer holds the directory's lock.
  @Test func recoverLeavesALiveWritersTemporaryFileAlone() throws {
    let sandbox = try Sandbox()
    let store = try Self.prepared(sandbox)
    sandbox.put(SlotFrame.encode(payload: Self.new), at: store.temporaryPath(slot: 1))
    // The writer's lock (flock locks belong to the open file description, so
    // a second open in this process conflicts as another process's would).
    let writerLock = ca_lock_directory(sandbox.directory, 1)
    #expect(writerLock >= 0)
    var reader = sandbox.store()
    try reader.recover()
    #expect(reader.staleFilesRemoved == 0)
    #expect(try sandbox.entries() == ["slot0.rec", "slot1.rec.tmp"])
    #expect(try reader.read(slot: 0) == .record(Self.old))
    _ = close(writerLock)
    // Once the writer is gone (a crash drops its lock), the file is stale.
    try reader.recover()
    #expect(reader.staleFilesRemoved == 1)
    #expect(try sandbox.entries() == ["slot0.rec"])
  }

  /// A temporary file left behind without a recover() in between does not
  /// block the next write.
  @Test func leftoverTemporaryFileIsReplaced() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    sandbox.put([0xAA, 0xBB], at: store.temporaryPath(slot: 1))
    try store.write(slot: 1, record: Self.new)
    #expect(try store.read(slot: 1) == .record(Self.new))
    #expect(try sandbox.entries() == ["slot0.rec", "slot1.rec"])
  }

  // MARK: Damaged files

  @Test func everyTruncationOfASlotFileIsDamaged() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    let frame = SlotFrame.encode(payload: Self.old)
    for length in 0..<frame.count {
      sandbox.put(Array(frame[0..<length]), at: store.path(slot: 0))
      #expect(Self.isDamaged(try store.read(slot: 0)), "cut at \(length)")
    }
  }

  @Test func otherDamageIsDetected() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    let path = store.path(slot: 0)
    let frame = SlotFrame.encode(payload: Self.old)
    for bad in [
      [UInt8](repeating: 0xFF, count: 64),  // erased-looking
      frame + [0],  // trailing byte
      [UInt8](repeating: 0, count: 8192),  // larger than any record
    ] {
      sandbox.put(bad, at: path)
      #expect(Self.isDamaged(try store.read(slot: 0)))
    }
    var flipped = frame
    flipped[20] ^= 0x10
    sandbox.put(flipped, at: path)
    #expect(Self.isDamaged(try store.read(slot: 0)))
  }

  @Test func symlinkInASlotsPlaceIsNotFollowed() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    let elsewhere = sandbox.parent + "/elsewhere.rec"
    sandbox.put(SlotFrame.encode(payload: Self.new), at: elsewhere)
    try FileManager.default.createSymbolicLink(atPath: store.path(slot: 1), withDestinationPath: elsewhere)
    // Reported, not followed, and not an error: the vault skips it and uses the other slot.
    #expect(Self.isDamaged(try store.read(slot: 1)))
    #expect(try store.read(slot: 0) == .record(Self.old))
  }

  // MARK: Injected failures

  /// Disk full part way through writing the temporary file: the error says
  /// so, the temporary file is gone and the slot file is untouched.
  @Test func diskFullLeavesThePreviousRecord() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    let before = sandbox.contents(store.path(slot: 0))
    var faults = store.fileSystem
    faults.fail(.write, errno: ENOSPC)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    do {
      try store.write(slot: 0, record: Self.new)
      Issue.record("the write succeeded on a full disk")
    } catch {
      guard case .system(let cause) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(cause.errno == ENOSPC)
      #expect(cause.operation.contains("slot0.rec.tmp"))
      #expect(error.description.contains("No space left on device"))
    }
    #expect(sandbox.contents(store.path(slot: 0)) == before)
    #expect(try sandbox.entries() == ["slot0.rec"])
    #expect(try store.read(slot: 0) == .record(Self.old))
    // Once there is room again, the write goes through.
    try store.write(slot: 0, record: Self.new)
    #expect(try store.read(slot: 0) == .record(Self.new))
  }

  @Test func fsyncFailureLeavesThePreviousRecord() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    var faults = store.fileSystem
    faults.fail(.fsync, errno: EIO)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    #expect(throws: StoreError.system(SystemError("fsync \(store.temporaryPath(slot: 0))", errno: EIO))) {
      try store.write(slot: 0, record: Self.new)
    }
    #expect(try sandbox.entries() == ["slot0.rec"])
    #expect(try store.read(slot: 0) == .record(Self.old))
  }

  @Test func readOnlyFileSystemIsUnusableAndChangesNothing() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    for call in [FaultyFileSystem.Call.createExclusive, .rename] {
      var faults = store.fileSystem
      faults.fail(call, errno: EROFS)
      store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
      do {
        try store.write(slot: 0, record: Self.new)
        Issue.record("write succeeded on a read-only file system (\(call))")
      } catch {
        guard case .unusable(let why) = error else {
          Issue.record("unexpected \(error)")
          continue
        }
        #expect(why.contains("Read-only file system"), "\(call)")
      }
      #expect(try sandbox.entries() == ["slot0.rec"], "\(call)")
      #expect(try store.read(slot: 0) == .record(Self.old), "\(call)")
    }
    // A read-only file system refuses the erase's first step, the open for overwriting.
    var faults = store.fileSystem
    faults.fail(.openForOverwriting, errno: EROFS)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    #expect(throws: StoreError.self) { try store.erase(slot: 0) }
    #expect(try store.read(slot: 0) == .record(Self.old))
  }

  @Test func permissionDeniedIsUnusable() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    var faults = store.fileSystem
    faults.fail(.createExclusive, errno: EACCES)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    #expect(throws: StoreError.unusable("create \(store.temporaryPath(slot: 1)): Permission denied")) {
      try store.write(slot: 1, record: Self.new)
    }
  }

  /// The real thing, where permissions apply: root bypasses directory
  /// permissions, so as root (the usual container) this only checks that the
  /// write still works.
  @Test func readOnlyDirectoryForRealWhenNotRoot() throws {
    let sandbox = try Sandbox()
    var store = try Self.prepared(sandbox)
    try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: sandbox.directory)
    defer {
      try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: sandbox.directory)
    }
    if geteuid() == 0 {
      try store.write(slot: 1, record: Self.new)
      #expect(try store.read(slot: 1) == .record(Self.new))
    } else {
      #expect(throws: StoreError.self) { try store.write(slot: 1, record: Self.new) }
      #expect(try store.read(slot: 0) == .record(Self.old))
    }
  }

  /// Each call a write makes fails in turn, with EIO: the write reports it,
  /// leaves no temporary file, and the slot holds the old record, except when
  /// the failure is the final directory fsync: the rename already happened,
  /// so the slot holds the new record but the write still reports failure
  /// because it cannot promise durability.
  @Test func everyCallOfAWriteFailingInTurn() throws {
    let sandbox = try Sandbox()
    _ = try Self.prepared(sandbox)
    var recorder = FileSlotStore(
      directory: sandbox.directory, recordCapacity: 4096, fileSystem: FaultyFileSystem())
    try recorder.write(slot: 0, record: Self.old)
    let calls = recorder.fileSystem.log
    #expect(calls.count == 10)

    for (index, call) in calls.enumerated() {
      // The index-th call is the nth of its kind.
      let nth = calls[0...index].filter { $0 == call }.count
      var faults = FaultyFileSystem()
      faults.fail(call, errno: EIO, nth: nth)
      var store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
      #expect(throws: StoreError.self, "\(call) failing") { try store.write(slot: 0, record: Self.new) }
      #expect(try sandbox.entries() == ["slot0.rec"], "\(call) failing")
      let expected = call == .fsyncDirectory ? Self.new : Self.old
      #expect(try store.read(slot: 0) == .record(expected), "\(call) failing")
      try store.write(slot: 0, record: Self.old)
    }
  }

  @Test func recoverFailuresAreReported() throws {
    let sandbox = try Sandbox()
    var faults = FaultyFileSystem()
    faults.fail(.makeDirectory, errno: EROFS)
    var store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    #expect(throws: StoreError.unusable("create directory \(sandbox.directory): Read-only file system")) {
      try store.recover()
    }
    faults = FaultyFileSystem()
    faults.fail(.status, errno: EIO)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    #expect(throws: StoreError.system(SystemError("fstat \(sandbox.directory)", errno: EIO))) {
      try store.recover()
    }
  }
}
