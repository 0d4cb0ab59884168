import CAgentSys

/// Key material and tokens. The storage is zeroed with OPENSSL_cleanse when the
/// last reference goes, and the type deliberately has no `description`, so it
/// cannot be interpolated into a log line or printed by accident: reading the
/// bytes takes an explicit `withUnsafeBytes` or `revealCopy()`.
public final class SecretBytes {
  private var storage: [UInt8]

  /// Takes ownership of `bytes`; the caller should not keep other copies.
  public init(_ bytes: [UInt8]) { storage = bytes }

  /// `count` zero bytes, to be filled through `withUnsafeMutableBytes`.
  public init(zeroes count: Int) { storage = [UInt8](repeating: 0, count: count) }

  deinit { wipe() }

  public var count: Int { storage.count }
  public var isEmpty: Bool { storage.isEmpty }

  public func withUnsafeBytes<R, E: Error>(
    _ body: (UnsafeRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    var result: Result<R, E>? = nil
    storage.withUnsafeBytes { raw in
      do throws(E) { result = .success(try body(raw)) } catch { result = .failure(error) }
    }
    return try result!.get()
  }

  public func withUnsafeMutableBytes<R, E: Error>(
    _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    var result: Result<R, E>? = nil
    storage.withUnsafeMutableBytes { raw in
      do throws(E) { result = .success(try body(raw)) } catch { result = .failure(error) }
    }
    return try result!.get()
  }

  /// A plain copy, for the few places that must hand bytes to a peer (a token in
  /// an HTTP header). Name says what it does so reviews can find every use.
  public func revealCopy() -> [UInt8] { storage }

  /// Constant-time equality.
  public func equals(_ other: SecretBytes) -> Bool {
    ConstantTime.equals(storage, other.storage)
  }

  /// Zeroes the bytes now (also done on deinit).
  public func wipe() {
    storage.withUnsafeMutableBytes { raw in
      if let base = raw.baseAddress { ca_cleanse(base, raw.count) }
    }
  }

  /// Zeroes the buffer behind `bytes` in place, for every value that shares
  /// it: a request or response body that held a token, once every holder is
  /// done with it. A mutating wipe of a shared array would copy it first
  /// (copy-on-write) and zero only the copy; this one writes through the
  /// shared storage on purpose, so callers must not read `bytes` afterwards.
  public static func cleanse(_ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { buffer in
      if let base = buffer.baseAddress { ca_cleanse(UnsafeMutableRawPointer(mutating: base), buffer.count) }
    }
  }

  /// The same for a `String` that had to carry a secret (an HTTP header
  /// value): its UTF-8 storage is zeroed in place. A small string (15 bytes
  /// or less) has no heap storage, and none is needed for a token.
  public static func cleanse(_ string: String) {
    _ = string.utf8.withContiguousStorageIfAvailable { buffer in
      if let base = buffer.baseAddress { ca_cleanse(UnsafeMutableRawPointer(mutating: base), buffer.count) }
    }
  }

  /// Appends `chunk` to `buffer`, which holds secret bytes: when the buffer
  /// must grow, the new storage is allocated first and the old one zeroed
  /// before it is freed, so a reallocation never leaves a partial copy in
  /// the heap (glibc's small-chunk cache is not perturbed, main.c).
  public static func append<C: Collection>(_ chunk: C, to buffer: inout [UInt8]) where C.Element == UInt8 {
    let needed = buffer.count + chunk.count
    if needed > buffer.capacity {
      var grown: [UInt8] = []
      grown.reserveCapacity(Swift.max(needed, 2 * buffer.capacity, 64))
      grown.append(contentsOf: buffer)
      cleanse(buffer)
      buffer = grown
    }
    buffer.append(contentsOf: chunk)
  }
}
