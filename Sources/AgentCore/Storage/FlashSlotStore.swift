/// Two slots on raw flash: each slot is `blocksPerSlot` whole erase blocks,
/// slot 0 starting at `offset` and slot 1 right after it, and holds one
/// SlotFrame at its start.
///
/// A write erases the slot, programs the frame body, then programs the
/// commit marker in a last, separate operation, then reads everything back.
/// A power cut at any point leaves the slot erased (`.empty`), or holding an
/// uncommitted or torn frame (`.damaged`), or holding the complete new record;
/// never anything else, and never anything outside the slot being written.
/// Keeping the newest good record in the other slot is the vault's job.
public struct FlashSlotStore<Device: FlashDevice>: SlotStore {
  /// NOR chips program through a write buffer of about this size; programs
  /// are split at this size (rounded to whole pages) so no single operation
  /// is unusually long, and the power-cut tests get a cut point per chunk.
  static var programChunkTarget: Int { 256 }

  public private(set) var device: Device
  /// Byte offset of slot 0 in the device; a multiple of the erase block size.
  public let offset: Int
  public let blocksPerSlot: Int
  public let recordCapacity: Int
  public var slotCount: Int { 2 }
  public var slotSize: Int { device.eraseBlockSize * blocksPerSlot }

  /// Checks that the two slots fit the device's geometry; throws
  /// `.unusable` saying what does not.
  public init(device: Device, offset: Int = 0, blocksPerSlot: Int = 1) throws(StoreError) {
    let block = device.eraseBlockSize
    let page = device.writeSize
    guard block > 0, page > 0, block % page == 0 else {
      throw .unusable("flash geometry unusable: erase block \(block) bytes, program unit \(page) bytes")
    }
    guard blocksPerSlot >= 1 else { throw .unusable("a slot needs at least one erase block") }
    guard offset >= 0, offset % block == 0 else {
      throw .unusable("slot offset \(offset) is not a multiple of the \(block)-byte erase block")
    }
    let needed = 2 * blocksPerSlot * block
    guard offset <= device.size, needed <= device.size - offset else {
      throw .unusable(
        "two slots of \(blocksPerSlot) erase blocks (\(needed) bytes) at offset \(offset)"
          + " do not fit in the \(device.size)-byte flash")
    }
    let capacity = SlotFrame.capacity(areaSize: blocksPerSlot * block, alignment: page)
    guard capacity > 0 else { throw .unusable("a \(blocksPerSlot * block)-byte slot cannot hold a record") }
    self.device = device
    self.offset = offset
    self.blocksPerSlot = blocksPerSlot
    self.recordCapacity = capacity
  }

  /// Nothing to recover on raw flash: there is no temporary copy to clean up,
  /// because a write only ever touches its own slot. A slot torn by a power
  /// cut reads as `.damaged` and stays that way until the vault writes it
  /// again (every write erases first); erasing it here would gain nothing.
  public mutating func recover() throws(StoreError) {}

  public mutating func read(slot: Int) throws(StoreError) -> SlotContent {
    try checkSlot(slot)
    let area = try device.read(offset: slotStart(slot), count: slotSize)
    return SlotFrame.parse(area, alignment: device.writeSize)
  }

  public mutating func write(slot: Int, record: [UInt8]) throws(StoreError) {
    try checkSlot(slot)
    guard record.count <= recordCapacity else {
      throw .recordTooLarge(size: record.count, capacity: recordCapacity)
    }
    let start = slotStart(slot)
    let page = device.writeSize
    try eraseBlocks(of: slot)

    let body = SlotFrame.body(payload: record, alignment: page)
    let chunk = max(page, Self.programChunkTarget / page * page)
    var done = 0
    while done < body.count {
      let count = min(chunk, body.count - done)
      try device.program(offset: start + done, bytes: Array(body[done..<done + count]))
      done += count
    }
    // The commit: only after this program can the slot read as a record.
    let commit = SlotFrame.commit(alignment: page)
    try device.program(offset: start + body.count, bytes: commit)

    let readBack = try device.read(offset: start, count: body.count + commit.count)
    guard readBack == body + commit else { throw .verifyFailed(slot: slot) }
  }

  public mutating func erase(slot: Int) throws(StoreError) {
    try checkSlot(slot)
    try eraseBlocks(of: slot)
  }

  public mutating func takeOwnership() throws(StoreError) { try device.takeOwnership() }
  public mutating func releaseOwnership() { device.releaseOwnership() }

  private func slotStart(_ slot: Int) -> Int { offset + slot * slotSize }

  /// Erases a slot. A committed record is retired first by programming its
  /// commit marker to zeroes (1→0 only, so legal on NOR): an erase torn by a
  /// power cut can then only leave an `.interrupted` slot, never a damaged
  /// half-erased record that would make the vault refuse to open. NAND pages
  /// may be programmed once per erase, so on NAND (writeSize > 1) the erase
  /// goes straight ahead.
  private mutating func eraseBlocks(of slot: Int) throws(StoreError) {
    if device.writeSize == 1 {
      let area = try device.read(offset: slotStart(slot), count: slotSize)
      if let marker = SlotFrame.committedMarkerOffset(area) {
        let retired = [UInt8](repeating: 0, count: SlotFrame.commit().count)
        try device.program(offset: slotStart(slot) + marker, bytes: retired)
      }
    }
    let first = slotStart(slot) / device.eraseBlockSize
    for block in first..<first + blocksPerSlot { try device.erase(block: block) }
  }

  private func checkSlot(_ slot: Int) throws(StoreError) {
    guard slot >= 0 && slot < slotCount else {
      throw .unusable("there is no slot \(slot): the flash store has slots 0 and 1")
    }
  }
}
