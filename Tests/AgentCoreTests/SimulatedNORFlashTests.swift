import AgentCore
import Testing

@Suite struct SimulatedNORFlashTests {
  static let block = 64

  static func chip(blocks: Int = 4, writeSize: Int = 1) -> SimulatedNORFlash {
    SimulatedNORFlash(size: blocks * block, eraseBlockSize: block, writeSize: writeSize)
  }

  /// Cells that are neither 0xFF nor 0x00, so both directions of a torn
  /// operation show.
  static func patterned(_ flash: inout SimulatedNORFlash, block index: Int) throws {
    let bytes = (0..<block).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    try flash.program(offset: index * block, bytes: bytes)
  }

  @Test func freshChipIsErased() throws {
    var flash = Self.chip()
    #expect(flash.size == 4 * Self.block)
    #expect(flash.eraseBlockSize == Self.block)
    #expect(flash.writeSize == 1)
    #expect(try flash.read(offset: 0, count: flash.size).allSatisfy { $0 == 0xFF })
  }

  @Test func programClearsBitsAndMayProgramAgain() throws {
    var flash = Self.chip()
    try flash.program(offset: 3, bytes: [0xF0, 0x0F])
    #expect(try flash.read(offset: 2, count: 4) == [0xFF, 0xF0, 0x0F, 0xFF])
    // Clearing more bits of an already programmed byte is legal on NOR.
    try flash.program(offset: 3, bytes: [0x30])
    #expect(try flash.read(offset: 3, count: 1) == [0x30])
    #expect(flash.zeroToOneAttempts == 0)
  }

  @Test func zeroToOneProgramIsCaughtAndChangesNothing() throws {
    var flash = Self.chip()
    try flash.program(offset: 0, bytes: [0xF0])
    let before = flash.cells
    do {
      try flash.program(offset: 0, bytes: [0x3C])
      Issue.record("a program needing 0→1 was accepted")
    } catch {
      guard case .unusable(let why) = error else {
        Issue.record("unexpected error \(error)")
        return
      }
      #expect(why.contains("0→1"))
      #expect(why.contains("offset 0"))
    }
    #expect(flash.cells == before)
    #expect(flash.zeroToOneAttempts == 1)
    #expect(flash.programOps == 1)
  }

  @Test func hardwareModeANDsSilently() throws {
    var flash = SimulatedNORFlash(size: 64, eraseBlockSize: 64, catchesZeroToOne: false)
    try flash.program(offset: 0, bytes: [0xF0])
    try flash.program(offset: 0, bytes: [0x3C])
    #expect(try flash.read(offset: 0, count: 1) == [0x30])
    #expect(flash.zeroToOneAttempts == 1)
  }

  @Test func eraseSetsOneBlockToFF() throws {
    var flash = Self.chip()
    for index in 0..<4 { try Self.patterned(&flash, block: index) }
    try flash.erase(block: 2)
    for index in 0..<4 {
      let bytes = try flash.read(offset: index * Self.block, count: Self.block)
      #expect(bytes.allSatisfy { $0 == 0xFF } == (index == 2), "block \(index)")
    }
    // Erased cells can be programmed to anything again.
    try flash.program(offset: 2 * Self.block, bytes: [0x00, 0xA5])
    #expect(try flash.read(offset: 2 * Self.block, count: 2) == [0x00, 0xA5])
  }

  @Test func countersCountWork() throws {
    var flash = Self.chip()
    try flash.program(offset: 0, bytes: [UInt8](repeating: 0, count: 10))
    try flash.program(offset: 70, bytes: [1, 2, 3])
    try flash.erase(block: 1)
    try flash.erase(block: 1)
    try flash.erase(block: 3)
    _ = try flash.read(offset: 0, count: 100)
    #expect(flash.programOps == 2)
    #expect(flash.bytesProgrammed == 13)
    #expect(flash.eraseOps == 3)
    #expect(flash.blocksErased == 3)
    #expect(flash.eraseCounts == [0, 2, 0, 1])
  }

  @Test func outOfRangeIsRefused() {
    var flash = Self.chip()
    #expect(throws: StoreError.self) { _ = try flash.read(offset: flash.size - 1, count: 2) }
    #expect(throws: StoreError.self) { try flash.program(offset: -1, bytes: [0]) }
    #expect(throws: StoreError.self) { try flash.erase(block: 4) }
    #expect(flash.programOps == 0 && flash.eraseOps == 0)
  }

  @Test func pagedChipWantsWholePagesOncePerErase() throws {
    var flash = Self.chip(writeSize: 16)
    #expect(throws: StoreError.self) { try flash.program(offset: 8, bytes: [UInt8](repeating: 0, count: 16)) }
    #expect(throws: StoreError.self) { try flash.program(offset: 0, bytes: [UInt8](repeating: 0, count: 8)) }
    try flash.program(offset: 16, bytes: [UInt8](repeating: 0x5A, count: 16))
    // Even a program that would only clear more bits is refused on a page.
    #expect(throws: StoreError.self) {
      try flash.program(offset: 16, bytes: [UInt8](repeating: 0, count: 16))
    }
    try flash.erase(block: 0)
    try flash.program(offset: 16, bytes: [UInt8](repeating: 0, count: 16))
    // Reopening knows which pages hold data.
    var reopened = SimulatedNORFlash(cells: flash.cells, eraseBlockSize: Self.block, writeSize: 16)
    #expect(throws: StoreError.self) {
      try reopened.program(offset: 16, bytes: [UInt8](repeating: 0, count: 16))
    }
    try reopened.program(offset: 32, bytes: [UInt8](repeating: 0, count: 16))
    // A page whose program was cut needs an erase too, even if nothing changed.
    reopened.cutAfter(operations: 1, mode: .tornProgram(.allButOneBit))
    #expect(throws: StoreError.powerLost) {
      try reopened.program(offset: 48, bytes: [0xFE] + [UInt8](repeating: 0xFF, count: 15))
    }
    reopened.powerOn()
    #expect(throws: StoreError.self) {
      try reopened.program(offset: 48, bytes: [UInt8](repeating: 0, count: 16))
    }
  }

  // MARK: Power cuts

  @Test func cleanCutLetsTheOperationFinishThenTheDeviceIsOff() throws {
    var flash = Self.chip()
    try Self.patterned(&flash, block: 1)
    // Operations before arming do not count.
    flash.cutAfter(operations: 2, mode: .clean)
    try flash.program(offset: 0, bytes: [0x00])
    try flash.erase(block: 1)
    #expect(!flash.isPoweredOn)
    #expect(throws: StoreError.powerLost) { _ = try flash.read(offset: 0, count: 1) }
    #expect(throws: StoreError.powerLost) { try flash.program(offset: 1, bytes: [0x00]) }
    #expect(throws: StoreError.powerLost) { try flash.erase(block: 0) }
    let afterCut = flash.cells
    #expect(afterCut[0] == 0x00 && afterCut[1] == 0xFF)
    #expect(afterCut[Self.block..<2 * Self.block].allSatisfy { $0 == 0xFF })
    flash.powerOn()
    #expect(try flash.read(offset: 0, count: 2) == [0x00, 0xFF])
    // A reboot over the same cells sees the same thing.
    var reopened = SimulatedNORFlash(cells: afterCut, eraseBlockSize: Self.block)
    #expect(try reopened.read(offset: 0, count: reopened.size) == afterCut)
    #expect(reopened.programOps == 0 && reopened.isPoweredOn)
  }

  @Test func tornProgramFirstHalf() throws {
    var flash = Self.chip()
    flash.cutAfter(operations: 1, mode: .tornProgram(.firstHalf))
    #expect(throws: StoreError.powerLost) {
      try flash.program(offset: 4, bytes: [UInt8](repeating: 0, count: 8))
    }
    #expect(
      Array(flash.cells[0..<16]) == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
    #expect(flash.bytesProgrammed == 0 && flash.programOps == 1)
  }

  @Test func tornProgramSomeBitsClearsOnlyWantedBitsAndNotAll() throws {
    var flash = Self.chip()
    let target = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 73) }
    flash.cutAfter(operations: 1, mode: .tornProgram(.someBits))
    #expect(throws: StoreError.powerLost) { try flash.program(offset: 0, bytes: target) }
    let cells = Array(flash.cells[0..<32])
    for index in 0..<32 {
      // Only 1→0 changes, and only of bits the program asked to clear.
      #expect(cells[index] & target[index] == target[index])
    }
    #expect(cells != target)
    #expect(cells != [UInt8](repeating: 0xFF, count: 32))
  }

  @Test func tornProgramAllButOneBit() throws {
    var flash = Self.chip()
    let target: [UInt8] = [0x00, 0x5A, 0xC3, 0x3C]
    flash.cutAfter(operations: 1, mode: .tornProgram(.allButOneBit))
    #expect(throws: StoreError.powerLost) { try flash.program(offset: 0, bytes: target) }
    var differingBits = 0
    for index in 0..<4 { differingBits += (flash.cells[index] ^ target[index]).nonzeroBitCount }
    #expect(differingBits == 1)
  }

  @Test func tornEraseVariants() throws {
    for how in SimulatedNORFlash.TornErase.allCases {
      var flash = Self.chip()
      try Self.patterned(&flash, block: 1)
      let before = Array(flash.cells[Self.block..<2 * Self.block])
      flash.cutAfter(operations: 1, mode: .tornErase(how))
      #expect(throws: StoreError.powerLost) { try flash.erase(block: 1) }
      let after = Array(flash.cells[Self.block..<2 * Self.block])
      #expect(flash.blocksErased == 0 && flash.eraseOps == 1)
      // The neighbours are untouched.
      #expect(flash.cells[0..<Self.block].allSatisfy { $0 == 0xFF })
      #expect(flash.cells[(2 * Self.block)...].allSatisfy { $0 == 0xFF })
      switch how {
      case .firstHalf:
        #expect(after[0..<Self.block / 2].allSatisfy { $0 == 0xFF })
        #expect(after[(Self.block / 2)...] == before[(Self.block / 2)...])
      case .someBits:
        for index in 0..<Self.block { #expect(after[index] & before[index] == before[index]) }
        #expect(after != before)
        #expect(!after.allSatisfy { $0 == 0xFF })
      case .preprogrammedZero:
        #expect(after.allSatisfy { $0 == 0x00 })
      }
    }
  }

  /// A torn mode for the other kind of operation means the power went just
  /// before it: nothing happens.
  @Test func mismatchedTornModeCutsBeforeTheOperation() throws {
    var flash = Self.chip()
    try Self.patterned(&flash, block: 0)
    let before = flash.cells
    flash.cutAfter(operations: 1, mode: .tornProgram(.firstHalf))
    #expect(throws: StoreError.powerLost) { try flash.erase(block: 0) }
    #expect(flash.cells == before)
    #expect(!flash.isPoweredOn)

    flash.powerOn()
    flash.cutAfter(operations: 1, mode: .tornErase(.firstHalf))
    #expect(throws: StoreError.powerLost) { try flash.program(offset: Self.block, bytes: [0]) }
    #expect(flash.cells == before)
  }

  @Test func everyModeIsListedOnce() {
    let all = SimulatedNORFlash.PowerCut.all
    #expect(
      all.count == 1 + SimulatedNORFlash.TornProgram.allCases.count
        + SimulatedNORFlash.TornErase.allCases.count)
    for (index, mode) in all.enumerated() {
      #expect(all.firstIndex(of: mode) == index)
      #expect(!mode.description.isEmpty)
    }
  }

  @Test func tornVariantsAreDeterministic() throws {
    for mode in SimulatedNORFlash.PowerCut.all {
      var results: [[UInt8]] = []
      for _ in 0..<2 {
        var flash = Self.chip()
        try Self.patterned(&flash, block: 0)
        flash.cutAfter(operations: 2, mode: mode)
        try flash.program(offset: Self.block, bytes: [UInt8](repeating: 0x11, count: 40))
        _ = try? flash.erase(block: 0)
        results.append(flash.cells)
      }
      #expect(results[0] == results[1], "\(mode.description)")
    }
  }

  @Test func flipBitIsBitRot() throws {
    var flash = Self.chip()
    flash.flipBit(offset: 5, bit: 3)
    #expect(try flash.read(offset: 5, count: 1) == [0xF7])
  }
}
