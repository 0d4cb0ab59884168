import AgentCore

/// A SlotStore in memory with no framing of its own, so every byte of a
/// record is exposed to the vault's own checks (bit-flip and splicing tests).
public struct MemorySlotStore: SlotStore {
  public var slots: [[UInt8]?] = [nil, nil]
  public var slotCount: Int { 2 }
  public var recordCapacity: Int { 4096 }

  public init() {}

  public mutating func recover() throws(StoreError) {}

  public mutating func read(slot: Int) throws(StoreError) -> SlotContent {
    guard let bytes = slots[slot] else { return .empty }
    return .record(bytes)
  }

  public mutating func write(slot: Int, record: [UInt8]) throws(StoreError) {
    slots[slot] = record
  }

  public mutating func erase(slot: Int) throws(StoreError) {
    slots[slot] = nil
  }

  /// In memory, one process: nothing to exclude.
  public mutating func takeOwnership() throws(StoreError) {}
}

/// A deterministic RandomSource (xorshift64*), for reproducible tests.
public struct SeededRandom: RandomSource {
  public var state: UInt64

  public init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

  public mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 0x2545_F491_4F6C_DD1D
  }

  public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
    for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: next()) }
  }
}

extension Array where Element == UInt8 {
  /// True if `needle` occurs anywhere in self.
  public func containsSubsequence(_ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= count else { return false }
    for start in 0...(count - needle.count) where self[start] == needle[0] {
      if Array(self[start..<start + needle.count]) == needle { return true }
    }
    return false
  }
}
