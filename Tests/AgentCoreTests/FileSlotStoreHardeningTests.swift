import AgentCore
import AgentTestSupport
import CAgentSys
import Foundation
import Testing

/// Issue 13 items 4, 6, 7, 8 on the file backend: the directory is acted on
/// through the descriptor that was checked, an erase destroys, odd things at
/// a slot's name are reported rather than fatal, and one owner at a time.
@Suite struct FileSlotStoreHardeningTests {
  typealias Sandbox = FileSlotStoreTests.Sandbox
  static let old = FileSlotStoreTests.old
  static let new = FileSlotStoreTests.new

  /// A victim directory with a file named like a slot, as a root-owned
  /// directory the agent's user would like root to write or chmod.
  static func victim(in sandbox: Sandbox) throws -> (path: String, listing: [String], mode: Int) {
    let victim = sandbox.parent + "/victim"
    try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: false)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: victim)
    sandbox.put(Array("precious".utf8), at: victim + "/slot0.rec")
    return (victim, try FileManager.default.contentsOfDirectory(atPath: victim).sorted(), 0o755)
  }

  /// The TOCTOU of item 4, made deterministic: the store checks and opens the
  /// directory, then the path is swapped for a symlink to another directory.
  /// Every later write, erase, recovery and read acts on the directory that
  /// was checked; the victim is never written, removed or chmodded.
  @Test func swappedDirectoryIsNeverFollowed() throws {
    let sandbox = try Sandbox()
    var store = try FileSlotStoreTests.prepared(sandbox)
    let victim = try Self.victim(in: sandbox)
    let moved = sandbox.parent + "/vault-moved"
    try FileManager.default.moveItem(atPath: sandbox.directory, toPath: moved)
    try FileManager.default.createSymbolicLink(atPath: sandbox.directory, withDestinationPath: victim.path)

    try store.write(slot: 1, record: Self.new)
    try store.recover()
    #expect(try store.read(slot: 0) == .record(Self.old))
    try store.erase(slot: 0)
    #expect(try store.read(slot: 0) == .empty)

    #expect(try FileManager.default.contentsOfDirectory(atPath: victim.path).sorted() == victim.listing)
    #expect(sandbox.contents(victim.path + "/slot0.rec") == Array("precious".utf8))
    #expect(try sandbox.permissions(victim.path) == victim.mode)
    #expect(try FileManager.default.contentsOfDirectory(atPath: moved).sorted() == ["slot1.rec"])

    // A new store over the path refuses the symlink rather than following it.
    var fresh = sandbox.store()
    #expect(throws: StoreError.self) { try fresh.recover() }
    #expect(throws: StoreError.self) { try fresh.takeOwnership() }
    #expect(try sandbox.permissions(victim.path) == victim.mode)
  }

  /// Item 7: a directory or a FIFO at a slot's name reads as damaged (a FIFO
  /// without hanging the open), and the next write to that slot replaces it.
  @Test func oddThingsAtASlotsNameAreDamagedAndReplaceable() throws {
    let sandbox = try Sandbox()
    var store = try FileSlotStoreTests.prepared(sandbox)
    try FileManager.default.createDirectory(atPath: store.path(slot: 1), withIntermediateDirectories: false)
    #expect(FileSlotStoreTests.isDamaged(try store.read(slot: 1)))
    try store.write(slot: 1, record: Self.new)
    #expect(try store.read(slot: 1) == .record(Self.new))

    try FileManager.default.removeItem(atPath: store.path(slot: 1))
    #expect(mkfifo(store.path(slot: 1), 0o600) == 0)
    #expect(FileSlotStoreTests.isDamaged(try store.read(slot: 1)))
    try store.write(slot: 1, record: Self.new)
    #expect(try store.read(slot: 1) == .record(Self.new))
    #expect(try store.read(slot: 0) == .record(Self.old))
  }

  /// Item 6: an erase overwrites the file with zeroes and fsyncs it before
  /// the unlink; if the unlink then fails, what is left is no record.
  @Test func eraseOverwritesBeforeItUnlinks() throws {
    let sandbox = try Sandbox()
    var store = try FileSlotStoreTests.prepared(sandbox)
    var recorder = FileSlotStore(
      directory: sandbox.directory, recordCapacity: 4096, fileSystem: FaultyFileSystem())
    try recorder.recover()
    recorder = FileSlotStore(
      directory: sandbox.directory, recordCapacity: 4096, fileSystem: FaultyFileSystem())
    try recorder.erase(slot: 0)
    let log = recorder.fileSystem.log
    let overwrite = try #require(log.firstIndex(of: .openForOverwriting))
    let unlink = try #require(log.firstIndex(of: .unlink))
    #expect(Array(log[overwrite..<unlink]) == [.openForOverwriting, .status, .write, .fsync, .close])
    #expect(log.last == .fsyncDirectory)
    #expect(try recorder.read(slot: 0) == .empty)

    try store.write(slot: 0, record: Self.old)
    let size = try #require(sandbox.contents(store.path(slot: 0))).count
    var faults = FaultyFileSystem()
    faults.fail(.unlink, errno: EIO)
    store = FileSlotStore(directory: sandbox.directory, recordCapacity: 4096, fileSystem: faults)
    #expect(throws: StoreError.self) { try store.erase(slot: 0) }
    #expect(sandbox.contents(store.path(slot: 0)) == [UInt8](repeating: 0, count: size))
    guard case .interrupted = try store.read(slot: 0) else {
      Issue.record("a zeroed slot file reads as an interrupted erase")
      return
    }
  }

  /// Item 8: one owner at a time. A second store (another open file
  /// description, as another process would have) is refused with the
  /// holder's pid, can still read and recover without blocking, and gets
  /// ownership once the owner is gone. The owner's writes take no extra lock.
  @Test func oneOwnerAtATime() throws {
    let sandbox = try Sandbox()
    _ = try FileSlotStoreTests.prepared(sandbox)
    var owner: FileSlotStore<FaultyFileSystem>? = sandbox.store()
    try owner!.takeOwnership()
    #expect(owner!.isOwner)
    var other = sandbox.store()
    #expect(throws: StoreError.busy(holder: Int(getpid()))) { try other.takeOwnership() }
    try other.recover()
    #expect(try other.read(slot: 0) == .record(Self.old))

    let locksBefore = owner!.fileSystem.counts[.lockDirectory, default: 0]
    try owner!.write(slot: 1, record: Self.new)
    try owner!.erase(slot: 0)
    try owner!.recover()
    #expect(owner!.fileSystem.counts[.lockDirectory, default: 0] == locksBefore)
    #expect(try other.read(slot: 1) == .record(Self.new))

    owner = nil
    try other.takeOwnership()
    #expect(other.isOwner)
  }
}
