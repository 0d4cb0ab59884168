/// NOR flash in memory, in the manner of littlefs's emulated block device:
/// the flash store's tests run against it, including power cuts at every
/// program and erase a write makes.
///
/// It is a value: `cells` is the whole chip, and a test "reboots" by building
/// a new device over the cells a cut left behind (`init(cells:...)`) or by
/// calling `powerOn()`.
///
/// What it enforces, as a real chip would (or worse, so bugs show):
/// - program ANDs into the cells. A program whose data has a 1 where the
///   cell already holds a 0 (a 0→1 change) is counted in `zeroToOneAttempts`;
///   a real chip silently keeps the 0 and the data reads back wrong, which is
///   a store bug, so by default (`catchesZeroToOne`) it throws
///   `StoreError.unusable("simulated NOR: ... 0→1 ...")` and changes nothing.
///   That is `.unusable` rather than a new StoreError case because no real
///   device ever reports it; with `catchesZeroToOne` false the chip ANDs
///   silently, as hardware does;
/// - with `writeSize` above 1 (a NAND-like page) programs must be whole,
///   aligned pages, each programmed at most once between erases;
/// - erase sets one erase block to 0xFF.
///
/// Power cuts: `cutAfter(operations: k, mode:)` makes the k-th program or
/// erase from then on (both kinds counted, 1-based) the last one the chip
/// performs. Afterwards every call, reads included, throws
/// `StoreError.powerLost` until `powerOn()`: the device is off.
public struct SimulatedNORFlash: FlashDevice {
  /// How the power cut lands on the operation it hits.
  public enum PowerCut: Equatable, CustomStringConvertible {
    /// The operation completes; the power goes just after it, so the caller
    /// sees success and its next call throws `.powerLost`.
    case clean
    /// If the operation is a program, part of it happens and it throws
    /// `.powerLost`. If it is an erase, the power goes just before it.
    case tornProgram(TornProgram)
    /// If the operation is an erase, part of it happens and it throws
    /// `.powerLost`. If it is a program, the power goes just before it.
    case tornErase(TornErase)

    /// Every mode, for tests that try them all at every operation.
    public static var all: [PowerCut] {
      [.clean] + TornProgram.allCases.map { .tornProgram($0) } + TornErase.allCases.map { .tornErase($0) }
    }

    public var description: String {
      switch self {
      case .clean: return "clean"
      case .tornProgram(let how): return "torn program (\(how.description))"
      case .tornErase(let how): return "torn erase (\(how.description))"
      }
    }
  }

  /// What an interrupted program leaves behind.
  public enum TornProgram: CaseIterable, Equatable, CustomStringConvertible {
    /// The first half of the bytes are programmed, the rest untouched.
    case firstHalf
    /// A deterministic pseudo-random subset of the bits that had to clear did.
    case someBits
    /// Every bit that had to clear did, except the last one.
    case allButOneBit

    public var description: String {
      switch self {
      case .firstHalf: return "first half of the bytes"
      case .someBits: return "some of the bits"
      case .allButOneBit: return "all bits but one"
      }
    }
  }

  /// What an interrupted erase leaves behind.
  public enum TornErase: CaseIterable, Equatable, CustomStringConvertible {
    /// The first half of the block reads 0xFF, the rest is unchanged.
    case firstHalf
    /// A deterministic pseudo-random subset of the 0 bits went back to 1.
    case someBits
    /// The whole block reads 0x00: NOR chips program every cell to 0 before
    /// the erase pulses, so that is where a cut early in an erase leaves it.
    case preprogrammedZero

    public var description: String {
      switch self {
      case .firstHalf: return "first half erased"
      case .someBits: return "some bits erased"
      case .preprogrammedZero: return "pre-programmed to zero"
      }
    }
  }

  private struct PendingCut {
    var remaining: Int
    var mode: PowerCut
  }

  /// The chip's contents, byte for byte.
  public private(set) var cells: [UInt8]
  public let eraseBlockSize: Int
  public let writeSize: Int
  public var size: Int { cells.count }

  /// Program and erase calls that reached the chip (torn ones included):
  /// what `cutAfter(operations:)` counts.
  public private(set) var programOps = 0
  public private(set) var eraseOps = 0
  /// Work that completed: bytes of finished programs, finished block erases.
  public private(set) var bytesProgrammed = 0
  public private(set) var blocksErased = 0
  /// Finished erases per block, to check wear and that a slot's neighbour
  /// was never touched.
  public private(set) var eraseCounts: [Int]

  /// Programs that asked for a 0→1 change, caught or not.
  public private(set) var zeroToOneAttempts = 0
  /// Throw on a 0→1 program instead of ANDing silently like hardware.
  public let catchesZeroToOne: Bool

  public private(set) var isPoweredOn = true
  private var pendingCut: PendingCut? = nil
  /// Pages programmed since their block's last erase (only when writeSize > 1).
  private var programmedPages: [Bool]

  /// A fresh chip: every byte erased (0xFF).
  public init(size: Int, eraseBlockSize: Int, writeSize: Int = 1, catchesZeroToOne: Bool = true) {
    self.init(
      cells: [UInt8](repeating: 0xFF, count: size), eraseBlockSize: eraseBlockSize, writeSize: writeSize,
      catchesZeroToOne: catchesZeroToOne)
  }

  /// A chip holding `cells`, powered on, with zeroed counters: the same flash
  /// after a reboot. With `writeSize` above 1, pages that are not all 0xFF
  /// count as already programmed.
  public init(cells: [UInt8], eraseBlockSize: Int, writeSize: Int = 1, catchesZeroToOne: Bool = true) {
    precondition(eraseBlockSize > 0 && writeSize > 0, "geometry must be positive")
    precondition(eraseBlockSize % writeSize == 0, "erase block must hold whole pages")
    precondition(cells.count % eraseBlockSize == 0, "size must be whole erase blocks")
    self.cells = cells
    self.eraseBlockSize = eraseBlockSize
    self.writeSize = writeSize
    self.catchesZeroToOne = catchesZeroToOne
    eraseCounts = [Int](repeating: 0, count: cells.count / eraseBlockSize)
    programmedPages = []
    if writeSize > 1 {
      programmedPages = [Bool](repeating: false, count: cells.count / writeSize)
      for page in 0..<programmedPages.count {
        let start = page * writeSize
        programmedPages[page] = cells[start..<start + writeSize].contains { $0 != 0xFF }
      }
    }
  }

  /// Arms a power cut: the `operations`-th program or erase from now is the
  /// last the chip performs, landing as `mode` says.
  public mutating func cutAfter(operations: Int, mode: PowerCut) {
    precondition(operations >= 1, "operations counts from 1")
    pendingCut = PendingCut(remaining: operations, mode: mode)
  }

  /// Power comes back: calls work again, the cells are as the cut left them,
  /// and no cut is armed.
  public mutating func powerOn() {
    isPoweredOn = true
    pendingCut = nil
  }

  /// In memory, one process: nothing to exclude.
  public mutating func takeOwnership() throws(StoreError) {}

  /// Bit rot: inverts one bit, whatever the NOR rules say.
  public mutating func flipBit(offset: Int, bit: Int) {
    cells[offset] ^= UInt8(1) << UInt8(bit)
  }

  public mutating func read(offset: Int, count: Int) throws(StoreError) -> [UInt8] {
    guard isPoweredOn else { throw .powerLost }
    try checkRange(offset: offset, count: count)
    return Array(cells[offset..<offset + count])
  }

  public mutating func program(offset: Int, bytes: [UInt8]) throws(StoreError) {
    guard isPoweredOn else { throw .powerLost }
    try checkRange(offset: offset, count: bytes.count)
    if writeSize > 1 { try checkPages(offset: offset, count: bytes.count) }
    for index in 0..<bytes.count where cells[offset + index] & bytes[index] != bytes[index] {
      zeroToOneAttempts += 1
      guard catchesZeroToOne else { break }
      let cell = hexByte(cells[offset + index])
      throw .unusable(
        "simulated NOR: program of 0x\(hexByte(bytes[index])) over 0x\(cell) at offset \(offset + index)"
          + " needs a 0→1 change: erase the block first")
    }
    programOps += 1
    switch takeCut() {
    case nil, .clean:
      break
    case .tornProgram(let how):
      applyTornProgram(how, offset: offset, bytes: bytes)
      // A page a program was cut in needs an erase before the next program.
      markPagesProgrammed(offset: offset, count: bytes.count)
      throw .powerLost
    case .tornErase:
      throw .powerLost
    }
    for index in 0..<bytes.count { cells[offset + index] &= bytes[index] }
    markPagesProgrammed(offset: offset, count: bytes.count)
    bytesProgrammed += bytes.count
  }

  public mutating func erase(block: Int) throws(StoreError) {
    guard isPoweredOn else { throw .powerLost }
    guard block >= 0 && block < eraseCounts.count else {
      throw .unusable("simulated NOR: no erase block \(block) (the chip has \(eraseCounts.count))")
    }
    eraseOps += 1
    let start = block * eraseBlockSize
    switch takeCut() {
    case nil, .clean:
      break
    case .tornProgram:
      throw .powerLost
    case .tornErase(let how):
      applyTornErase(how, start: start)
      throw .powerLost
    }
    for index in start..<start + eraseBlockSize { cells[index] = 0xFF }
    if writeSize > 1 {
      for page in start / writeSize..<(start + eraseBlockSize) / writeSize { programmedPages[page] = false }
    }
    eraseCounts[block] += 1
    blocksErased += 1
  }

  /// Counts one operation towards an armed cut; returns the mode if this
  /// operation is the one it hits (and turns the power off).
  private mutating func takeCut() -> PowerCut? {
    guard var cut = pendingCut else { return nil }
    cut.remaining -= 1
    guard cut.remaining == 0 else {
      pendingCut = cut
      return nil
    }
    pendingCut = nil
    isPoweredOn = false
    return cut.mode
  }

  private mutating func applyTornProgram(_ how: TornProgram, offset: Int, bytes: [UInt8]) {
    switch how {
    case .firstHalf:
      for index in 0..<bytes.count / 2 { cells[offset + index] &= bytes[index] }
    case .someBits, .allButOneBit:
      // The bits that had to go 1→0, in address order.
      var pending: [(index: Int, mask: UInt8)] = []
      for index in 0..<bytes.count {
        let toClear = cells[offset + index] & ~bytes[index]
        for bit in 0..<8 where toClear & (UInt8(1) << UInt8(bit)) != 0 {
          pending.append((index, UInt8(1) << UInt8(bit)))
        }
      }
      guard !pending.isEmpty else { return }
      var chosen = [Bool](repeating: how == .allButOneBit, count: pending.count)
      chosen[pending.count - 1] = false
      if how == .someBits {
        var random = PseudoRandom(seed: UInt32(truncatingIfNeeded: offset) ^ 0x9E37_79B9)
        for index in 0..<pending.count - 1 { chosen[index] = random.nextBit() }
      }
      for (index, bit) in pending.enumerated() where chosen[index] { cells[offset + bit.index] &= ~bit.mask }
    }
  }

  private mutating func applyTornErase(_ how: TornErase, start: Int) {
    switch how {
    case .firstHalf:
      for index in start..<start + eraseBlockSize / 2 { cells[index] = 0xFF }
    case .someBits:
      var random = PseudoRandom(seed: UInt32(truncatingIfNeeded: start) ^ 0x85EB_CA6B)
      for index in start..<start + eraseBlockSize { cells[index] |= random.nextByte() }
    case .preprogrammedZero:
      for index in start..<start + eraseBlockSize { cells[index] = 0x00 }
    }
    // Whatever the page holds now, NAND rules say it needs an erase first.
    if writeSize > 1 {
      for page in start / writeSize..<(start + eraseBlockSize) / writeSize { programmedPages[page] = true }
    }
  }

  private func checkRange(offset: Int, count: Int) throws(StoreError) {
    guard offset >= 0, count >= 0, offset <= cells.count, count <= cells.count - offset else {
      throw .unusable(
        "simulated NOR: \(count) bytes at offset \(offset) run past the \(cells.count)-byte chip")
    }
  }

  private func checkPages(offset: Int, count: Int) throws(StoreError) {
    guard offset % writeSize == 0, count % writeSize == 0 else {
      throw .unusable(
        "simulated flash: program of \(count) bytes at offset \(offset) is not whole \(writeSize)-byte pages")
    }
    for page in offset / writeSize..<(offset + count) / writeSize where programmedPages[page] {
      throw .unusable("simulated flash: page at offset \(page * writeSize) programmed twice without an erase")
    }
  }

  private mutating func markPagesProgrammed(offset: Int, count: Int) {
    guard writeSize > 1 else { return }
    for page in offset / writeSize..<(offset + count) / writeSize { programmedPages[page] = true }
  }

  private func hexByte(_ byte: UInt8) -> String { Hex.encode([byte]) }
}

/// xorshift32: the same "random" torn bits on every run, so a failing case
/// can be replayed.
private struct PseudoRandom {
  private var state: UInt32

  init(seed: UInt32) { state = seed == 0 ? 0x2545_F491 : seed }

  mutating func next() -> UInt32 {
    state ^= state << 13
    state ^= state >> 17
    state ^= state << 5
    return state
  }

  mutating func nextBit() -> Bool { next() & 1 == 1 }
  mutating func nextByte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 8) }
}
