import AgentCore
import Foundation
import Testing

/// MTDFlash against the kernel. The error paths run anywhere; the device
/// tests need a scratch MTD device they may erase, and never pick a real
/// board partition by themselves:
/// - `CAMERA_AGENT_TEST_MTD=/dev/mtdN` names one explicitly, or
/// - /proc/mtd lists the mtdram test driver ("mtdram test device"), e.g.
///   after `modprobe mtdram total_size=256 erase_size=16`, or nandsim
///   ("NAND simulator partition ...").
/// Without either they are skipped (this includes kernels built without
/// CONFIG_MTD, which have no /proc/mtd at all).
@Suite struct MTDFlashTests {
  static let scratchDevice: String? = {
    if let named = ProcessInfo.processInfo.environment["CAMERA_AGENT_TEST_MTD"], !named.isEmpty {
      return named
    }
    guard let table = try? String(contentsOfFile: "/proc/mtd", encoding: .utf8) else { return nil }
    // Lines look like: mtd0: 00040000 00004000 "mtdram test device"
    for line in table.split(separator: "\n") where line.hasPrefix("mtd") {
      guard line.contains("\"mtdram test device\"") || line.contains("\"NAND simulator partition") else {
        continue
      }
      return "/dev/" + line.prefix { $0 != ":" }
    }
    return nil
  }()

  static func unusableReason(_ body: () throws(StoreError) -> Void) -> String? {
    do {
      try body()
      return nil
    } catch {
      if case .unusable(let why) = error { return why }
      return "not unusable: \(error)"
    }
  }

  @Test func missingDeviceIsUnusable() {
    let why = Self.unusableReason { () throws(StoreError) in _ = try MTDFlash(path: "/dev/mtd-does-not-exist")
    }
    #expect(why?.contains("does not exist") == true)
  }

  @Test func nonMTDFileIsUnusable() throws {
    let why = Self.unusableReason { () throws(StoreError) in
      _ = try MTDFlash(path: "/dev/null", readOnly: true)
    }
    #expect(why?.contains("not an MTD character device") == true)

    let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-mtd-\(UUID().uuidString)")
      .path
    #expect(FileManager.default.createFile(atPath: path, contents: Data([0xFF, 0xFF])))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let fileWhy = Self.unusableReason { () throws(StoreError) in _ = try MTDFlash(path: path) }
    #expect(fileWhy?.contains("not an MTD character device") == true)
  }

  @Test(.enabled(if: scratchDevice != nil, "no scratch MTD device (mtdram/nandsim or CAMERA_AGENT_TEST_MTD)"))
  func geometryEraseProgramRead() throws {
    let path = Self.scratchDevice!
    let flash = try MTDFlash(path: path)
    #expect(flash.size > 0 && flash.size % flash.eraseBlockSize == 0)
    #expect(flash.eraseBlockSize % flash.writeSize == 0)
    try flash.erase(block: 0)
    #expect(try flash.read(offset: 0, count: flash.eraseBlockSize).allSatisfy { $0 == 0xFF })
    let page = [UInt8]((0..<flash.writeSize).map { UInt8(truncatingIfNeeded: $0 &* 13) })
    try flash.program(offset: 0, bytes: page)
    #expect(try flash.read(offset: 0, count: page.count) == page)
    if flash.writeSize > 1 {
      #expect(throws: StoreError.self) { try flash.program(offset: 1, bytes: [0]) }
    }
    #expect(throws: StoreError.self) { try flash.erase(block: flash.size / flash.eraseBlockSize) }
    try flash.erase(block: 0)
    #expect(try flash.read(offset: 0, count: page.count).allSatisfy { $0 == 0xFF })
  }

  @Test(.enabled(if: scratchDevice != nil, "no scratch MTD device (mtdram/nandsim or CAMERA_AGENT_TEST_MTD)"))
  func slotStoreOnTheRealDevice() throws {
    let path = Self.scratchDevice!
    let record = Array("credentials on a real MTD device".utf8)
    do {
      var store = try FlashSlotStore(device: try MTDFlash(path: path))
      try store.write(slot: 0, record: record)
      try store.erase(slot: 1)
      #expect(try store.read(slot: 0) == .record(record))
      #expect(try store.read(slot: 1) == .empty)
    }
    // A new descriptor (as after a restart) reads what the chip holds.
    var reopened = try FlashSlotStore(device: try MTDFlash(path: path, readOnly: true))
    #expect(try reopened.read(slot: 0) == .record(record))
    #expect(throws: StoreError.self) { try reopened.write(slot: 1, record: record) }
  }
}
