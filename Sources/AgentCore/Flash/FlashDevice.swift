/// Raw flash with NOR semantics, the medium under FlashSlotStore: a real MTD
/// partition (MTDFlash) on a board, an in-memory simulator (SimulatedNORFlash)
/// in tests. Offsets are bytes from the start of the device.
///
/// The rules a caller must follow are the chip's, not a convenience layer's:
/// - `program` can only clear bits (1→0); setting a bit back to 1 takes an
///   `erase` of the whole block that holds it;
/// - when `writeSize` is above 1 (NAND pages, ECC'd NOR), `program` takes
///   whole, aligned units of `writeSize` bytes, and each unit is programmed
///   at most once between erases (NAND forbids reprogramming a page).
///
/// Every operation is synchronous: when it returns, the chip has finished.
public protocol FlashDevice {
  /// Device size in bytes; a multiple of `eraseBlockSize`.
  var size: Int { get }
  /// The erase unit in bytes.
  var eraseBlockSize: Int { get }
  /// The program unit in bytes: 1 for NOR, the page size for NAND.
  var writeSize: Int { get }

  mutating func read(offset: Int, count: Int) throws(StoreError) -> [UInt8]
  /// ANDs `bytes` into the flash at `offset` (bits go 1→0, never back).
  mutating func program(offset: Int, bytes: [UInt8]) throws(StoreError)
  /// Sets every byte of erase block number `block` (not a byte offset) to 0xFF.
  mutating func erase(block: Int) throws(StoreError)
  /// Makes this process the device's only writer (SlotStore.takeOwnership),
  /// without waiting: `.busy` when another process holds it.
  mutating func takeOwnership() throws(StoreError)
  /// Gives that up again (see SlotStore.releaseOwnership).
  mutating func releaseOwnership()
}

extension FlashDevice {
  /// Devices without a lock (simulators) have nothing to release.
  public mutating func releaseOwnership() {}
}
