/// The fleet simulator's calendar: events keyed by (time, kind, device),
/// packed into one UInt64 -- time in the high 39 bits (ms, 17 years), one
/// bit for the kind of event, the device in the low 24 bits. Ties go to the
/// lower kind, then the lower device, so a run is deterministic.
///
/// A calendar queue rather than one heap of millions: each simulated second
/// has a bucket that pushes append to; when the clock reaches a second its
/// bucket becomes a small binary heap (pushes into the current second go
/// there). The pop order is exactly that of one global min-heap, but each
/// operation touches a few hundred entries that sit in cache instead of
/// walking 22 levels of a 20 MB heap.
struct FleetEventQueue {
  enum Kind: UInt64 {
    /// The device's session core asked to be woken (`SessionTransition.wake`).
    case core = 0
    /// The device's owner looks at the camera or the app.
    case owner = 1
  }

  static let deviceBits: UInt64 = 24
  static let maximumDevices = 1 << 24
  static let maximumTime: Int64 = 1 << 39

  private var buckets: [[UInt64]]
  private var heap: [UInt64] = []
  private var second = 0

  /// Events at or after `seconds` seconds are dropped.
  init(seconds: Int) {
    buckets = [[UInt64]](repeating: [], count: max(seconds, 1))
  }

  mutating func push(time: Int64, kind: Kind, device: Int) {
    precondition(time >= 0 && time < Self.maximumTime, "event time out of range")
    let key = UInt64(time) << (Self.deviceBits + 1) | kind.rawValue << Self.deviceBits | UInt64(device)
    let at = Int(time / 1_000)
    if at <= second {
      heapPush(key)
    } else if at < buckets.count {
      buckets[at].append(key)
    }
  }

  mutating func pop() -> (time: Int64, kind: Kind, device: Int)? {
    while heap.isEmpty {
      second += 1
      guard second < buckets.count else { return nil }
      // The bucket's storage becomes the heap; the spent heap's storage is
      // freed (kept in the bucket, a run would hold one buffer a second).
      heap = buckets[second]
      buckets[second] = []
      heapify()
    }
    let top = heapPop()
    let device = Int(top & (1 << Self.deviceBits - 1))
    let kind: Kind = (top >> Self.deviceBits) & 1 == 0 ? .core : .owner
    return (Int64(top >> (Self.deviceBits + 1)), kind, device)
  }

  private mutating func heapPush(_ key: UInt64) {
    heap.append(key)
    heap.withUnsafeMutableBufferPointer { buffer in
      var child = buffer.count - 1
      while child > 0 {
        let parent = (child - 1) >> 1
        let up = buffer[parent]
        guard key < up else { break }
        buffer[child] = up
        child = parent
      }
      buffer[child] = key
    }
  }

  private mutating func heapPop() -> UInt64 {
    let top = heap[0]
    let last = heap.removeLast()
    guard !heap.isEmpty else { return top }
    heap.withUnsafeMutableBufferPointer { buffer in Self.siftDown(buffer, from: 0, key: last) }
    return top
  }

  private mutating func heapify() {
    heap.withUnsafeMutableBufferPointer { buffer in
      var index = buffer.count / 2
      while index > 0 {
        index -= 1
        Self.siftDown(buffer, from: index, key: buffer[index])
      }
    }
  }

  private static func siftDown(_ buffer: UnsafeMutableBufferPointer<UInt64>, from start: Int, key: UInt64) {
    let count = buffer.count
    var parent = start
    while true {
      var child = 2 * parent + 1
      guard child < count else { break }
      if child + 1 < count && buffer[child + 1] < buffer[child] { child += 1 }
      guard buffer[child] < key else { break }
      buffer[parent] = buffer[child]
      parent = child
    }
    buffer[parent] = key
  }
}
