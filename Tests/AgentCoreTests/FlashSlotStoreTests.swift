import AgentCore
import Testing

@Suite struct FlashSlotStoreTests {
  /// A chip with one reserved block before the slots and one after, so a
  /// write that strays outside its slot shows.
  struct Geometry: CustomStringConvertible {
    var eraseBlockSize: Int
    var blocksPerSlot: Int
    var writeSize: Int

    var description: String {
      "\(blocksPerSlot)×\(eraseBlockSize) B slots, \(writeSize) B program unit"
    }

    var slotSize: Int { eraseBlockSize * blocksPerSlot }
    var chipSize: Int { eraseBlockSize * (2 * blocksPerSlot + 2) }
    var slotOffset: Int { eraseBlockSize }

    func slotRange(_ slot: Int) -> Range<Int> {
      let start = slotOffset + slot * slotSize
      return start..<start + slotSize
    }

    func chip(_ cells: [UInt8]? = nil) -> SimulatedNORFlash {
      SimulatedNORFlash(
        cells: cells ?? [UInt8](repeating: 0xFF, count: chipSize), eraseBlockSize: eraseBlockSize,
        writeSize: writeSize)
    }

    func store(_ cells: [UInt8]? = nil) throws -> FlashSlotStore<SimulatedNORFlash> {
      try FlashSlotStore(device: chip(cells), offset: slotOffset, blocksPerSlot: blocksPerSlot)
    }
  }

  static let geometries = [
    Geometry(eraseBlockSize: 1024, blocksPerSlot: 1, writeSize: 1),
    Geometry(eraseBlockSize: 512, blocksPerSlot: 2, writeSize: 1),
    // NAND-like pages: the commit goes in a page of its own.
    Geometry(eraseBlockSize: 1024, blocksPerSlot: 1, writeSize: 64),
  ]

  static func record(_ tag: String, size: Int) -> [UInt8] {
    let seed = Array(tag.utf8)
    return (0..<size).map { seed[$0 % seed.count] &+ UInt8(truncatingIfNeeded: $0 / seed.count) }
  }

  /// Not a record: torn (`.interrupted`) or committed-then-damaged.
  static func isDamaged(_ content: SlotContent) -> Bool {
    switch content {
    case .damaged, .interrupted: return true
    case .empty, .record: return false
    }
  }

  // MARK: Basics

  @Test(arguments: geometries)
  func writeReadErase(geometry: Geometry) throws {
    var store = try geometry.store()
    #expect(store.slotCount == 2)
    #expect(try store.read(slot: 0) == .empty)
    #expect(try store.read(slot: 1) == .empty)
    try store.recover()

    let first = Self.record("first", size: 300)
    let second = Self.record("second", size: store.recordCapacity)
    try store.write(slot: 0, record: first)
    try store.write(slot: 1, record: second)
    #expect(try store.read(slot: 0) == .record(first))
    #expect(try store.read(slot: 1) == .record(second))

    // Overwriting a slot with a shorter record leaves no trace of the longer one.
    try store.write(slot: 1, record: [0x42])
    #expect(try store.read(slot: 1) == .record([0x42]))
    try store.write(slot: 1, record: [])
    #expect(try store.read(slot: 1) == .record([]))

    try store.erase(slot: 0)
    #expect(try store.read(slot: 0) == .empty)
    #expect(try store.read(slot: 1) == .record([]))

    // Reserved blocks around the slots were never erased or programmed.
    let cells = store.device.cells
    #expect(cells[0..<geometry.slotOffset].allSatisfy { $0 == 0xFF })
    #expect(cells[geometry.slotRange(1).upperBound...].allSatisfy { $0 == 0xFF })
    #expect(store.device.eraseCounts.first == 0 && store.device.eraseCounts.last == 0)

    // What the store wrote survives a reboot.
    var reopened = try geometry.store(cells)
    #expect(try reopened.read(slot: 1) == .record([]))
  }

  @Test func capacityAndRefusals() throws {
    var store = try FlashSlotStore(device: SimulatedNORFlash(size: 8192, eraseBlockSize: 4096))
    #expect(store.recordCapacity == 4096 - 16)
    #expect(throws: StoreError.recordTooLarge(size: 4081, capacity: 4080)) {
      try store.write(slot: 0, record: [UInt8](repeating: 0, count: 4081))
    }
    #expect(store.device.eraseOps == 0)
    #expect(throws: StoreError.self) { try store.write(slot: 2, record: []) }
    #expect(throws: StoreError.self) { _ = try store.read(slot: -1) }
    #expect(throws: StoreError.self) { try store.erase(slot: 2) }
  }

  @Test func geometryIsValidated() {
    let chip = SimulatedNORFlash(size: 4 * 4096, eraseBlockSize: 4096)
    #expect(throws: StoreError.self) { _ = try FlashSlotStore(device: chip, offset: 100) }
    #expect(throws: StoreError.self) { _ = try FlashSlotStore(device: chip, offset: 4096, blocksPerSlot: 2) }
    #expect(throws: StoreError.self) { _ = try FlashSlotStore(device: chip, blocksPerSlot: 0) }
    #expect(throws: StoreError.self) { _ = try FlashSlotStore(device: chip, offset: 5 * 4096) }
    #expect(throws: StoreError.self) {
      _ = try FlashSlotStore(device: SimulatedNORFlash(size: 16, eraseBlockSize: 8))
    }
    #expect((try? FlashSlotStore(device: chip, offset: 2 * 4096)) != nil)
    #expect((try? FlashSlotStore(device: chip, blocksPerSlot: 2)) != nil)
  }

  /// A write issues: the slot's erases, one program per 256-byte chunk of the
  /// body, the commit program; then reads back.
  @Test func writeOperationsAreEraseBodyThenCommit() throws {
    var store = try FlashSlotStore(device: SimulatedNORFlash(size: 8192, eraseBlockSize: 4096))
    try store.write(slot: 1, record: [UInt8](repeating: 7, count: 600))
    #expect(store.device.eraseCounts == [0, 1])
    // 612 body bytes: chunks of 256, 256, 100; then the 4-byte marker.
    #expect(store.device.programOps == 4)
    #expect(store.device.bytesProgrammed == 612 + 4)
  }

  @Test func corruptionReadsAsDamaged() throws {
    var store = try FlashSlotStore(device: SimulatedNORFlash(size: 8192, eraseBlockSize: 4096))
    try store.write(slot: 0, record: Self.record("rot", size: 100))
    var chip = store.device
    chip.flipBit(offset: 50, bit: 6)
    var rotted = try FlashSlotStore(device: chip)
    #expect(Self.isDamaged(try rotted.read(slot: 0)))
    // The vault rewrites a damaged slot; that works without any recovery step.
    try rotted.write(slot: 0, record: [1, 2, 3])
    #expect(try rotted.read(slot: 0) == .record([1, 2, 3]))
  }

  /// A chip whose bit 0 of byte `stuckOffset` never clears.
  struct StuckBitFlash: FlashDevice {
    var inner: SimulatedNORFlash
    var stuckOffset: Int
    var size: Int { inner.size }
    var eraseBlockSize: Int { inner.eraseBlockSize }
    var writeSize: Int { inner.writeSize }

    mutating func read(offset: Int, count: Int) throws(StoreError) -> [UInt8] {
      try inner.read(offset: offset, count: count)
    }

    mutating func program(offset: Int, bytes: [UInt8]) throws(StoreError) {
      var bytes = bytes
      if (offset..<offset + bytes.count).contains(stuckOffset) { bytes[stuckOffset - offset] |= 1 }
      try inner.program(offset: offset, bytes: bytes)
    }

    mutating func erase(block: Int) throws(StoreError) { try inner.erase(block: block) }
    mutating func takeOwnership() throws(StoreError) {}
  }

  @Test func readBackMismatchIsVerifyFailed() throws {
    let chip = StuckBitFlash(
      inner: SimulatedNORFlash(size: 8192, eraseBlockSize: 4096), stuckOffset: 4096 + 20)
    var store = try FlashSlotStore(device: chip)
    try store.write(slot: 0, record: [UInt8](repeating: 0, count: 40))
    #expect(throws: StoreError.verifyFailed(slot: 1)) {
      try store.write(slot: 1, record: [UInt8](repeating: 0, count: 40))
    }
    #expect(Self.isDamaged(try store.read(slot: 1)))
  }

  // MARK: Power cuts

  /// Program and erase operations one write of `record` makes.
  static func operationCount(_ geometry: Geometry, cells: [UInt8], slot: Int, record: [UInt8]) throws -> Int {
    var store = try geometry.store(cells)
    try store.write(slot: slot, record: record)
    return store.device.programOps + store.device.eraseOps
  }

  /// Slot 0 and slot 1 hold old records; slot 1 is rewritten with a cut at
  /// every operation of the write, in every mode. After each cut, on a
  /// rebooted chip: slot 1 is empty, damaged or the complete new record,
  /// never the old one or anything else; slot 0 and the reserved blocks are
  /// byte for byte as they were; and the slot can be written again.
  @Test(arguments: geometries)
  func cutAtEveryOperationOfAWrite(geometry: Geometry) throws {
    var setup = try geometry.store()
    let keep = Self.record("keep-slot-0", size: 500)
    let old = Self.record("old-slot-1", size: 450)
    let new = Self.record("new-slot-1", size: 700)
    try setup.write(slot: 0, record: keep)
    try setup.write(slot: 1, record: old)
    let start = setup.device.cells
    let untouched = Array(start[0..<geometry.slotRange(1).lowerBound])
    let after = Array(start[geometry.slotRange(1).upperBound...])

    let operations = try Self.operationCount(geometry, cells: start, slot: 1, record: new)
    #expect(operations >= 4)
    var outcomes: [String: Int] = [:]
    for k in 1...operations + 1 {
      for mode in SimulatedNORFlash.PowerCut.all {
        let what = "cut at operation \(k) of \(operations), \(mode.description), \(geometry.description)"
        var chip = geometry.chip(start)
        chip.cutAfter(operations: k, mode: mode)
        var store = try FlashSlotStore(
          device: chip, offset: geometry.slotOffset, blocksPerSlot: geometry.blocksPerSlot)
        var completed = true
        do { try store.write(slot: 1, record: new) } catch {
          #expect(error == .powerLost, "\(what)")
          completed = false
        }
        #expect(completed == (k > operations), "\(what)")

        let cells = store.device.cells
        let unchanged = cells[geometry.slotRange(1)] == start[geometry.slotRange(1)]
        #expect(Array(cells[0..<geometry.slotRange(1).lowerBound]) == untouched, "\(what): slot 0 touched")
        #expect(
          Array(cells[geometry.slotRange(1).upperBound...]) == after, "\(what): outside the slot touched")

        var rebooted = try geometry.store(cells)
        #expect(try rebooted.read(slot: 0) == .record(keep), "\(what)")
        let content = try rebooted.read(slot: 1)
        switch content {
        case .empty: outcomes["empty", default: 0] += 1
        case .damaged: outcomes["damaged", default: 0] += 1
        case .interrupted: outcomes["interrupted", default: 0] += 1
        case .record(let bytes) where bytes == new:
          outcomes["new", default: 0] += 1
        case .record(let bytes):
          // The old record may only survive if the cut came before anything
          // in the slot changed (a torn-erase mode landing on a program, or
          // the reverse, cuts just before the operation).
          #expect(bytes == old && unchanged, "\(what): a record other than the new one")
          outcomes["old, slot untouched", default: 0] += 1
        }
        if completed { #expect(content == .record(new), "\(what)") }

        try rebooted.write(slot: 1, record: old)
        #expect(try rebooted.read(slot: 1) == .record(old), "\(what): rewrite after reboot")
      }
    }
    // The exhaustive run saw every kind of outcome. A torn write never reads
    // as committed-then-damaged: only as interrupted (the vault treats it as empty).
    #expect(outcomes["empty"] != nil && outcomes["interrupted"] != nil && outcomes["new"] != nil)
    #expect(outcomes["damaged"] == nil)
  }

  @Test(arguments: geometries)
  func cutAtEveryOperationOfAnErase(geometry: Geometry) throws {
    var setup = try geometry.store()
    let keep = Self.record("keep", size: 64)
    let old = Self.record("old", size: 400)
    try setup.write(slot: 0, record: keep)
    try setup.write(slot: 1, record: old)
    let start = setup.device.cells
    for k in 1...geometry.blocksPerSlot {
      for mode in SimulatedNORFlash.PowerCut.all {
        let what = "cut at erase operation \(k), \(mode.description), \(geometry.description)"
        var chip = geometry.chip(start)
        chip.cutAfter(operations: k, mode: mode)
        var store = try FlashSlotStore(
          device: chip, offset: geometry.slotOffset, blocksPerSlot: geometry.blocksPerSlot)
        _ = try? store.erase(slot: 1)
        var rebooted = try geometry.store(store.device.cells)
        #expect(try rebooted.read(slot: 0) == .record(keep), "\(what)")
        let content = try rebooted.read(slot: 1)
        let unchanged = store.device.cells == start
        if content == .record(old) {
          // Only when the cut came just before the erase (a torn-program mode).
          #expect(unchanged, "\(what)")
        } else {
          #expect(content == .empty || Self.isDamaged(content), "\(what)")
        }
      }
    }
  }
}
