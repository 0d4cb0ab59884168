import CAgentSys

/// A raw MTD partition through its character device, /dev/mtdN: geometry
/// from ioctl(MEMGETINFO), erase with ioctl(MEMERASE), program with pwrite,
/// read with pread. mtdchar has no page cache: each call reaches the chip and
/// returns when the chip is done, so a returned program or erase is durable.
///
/// Supported types:
/// - NOR (`MTD_NORFLASH`), the intended medium: program unit 1 byte, bits
///   only go 1→0, exactly what FlashDevice describes;
/// - RAM (`MTD_RAM`, e.g. the mtdram test driver): programs overwrite rather
///   than AND, which is the same thing for a store that only programs erased
///   bytes;
/// - SLC NAND (`MTD_NANDFLASH`, e.g. nandsim): programs must be whole,
///   aligned pages (`writeSize`), which FlashSlotStore does, and a block the
///   kernel marks bad makes its slot unusable. There is no bad-block
///   remapping here: on real NAND, run UBI with UBIFS and use FileSlotStore.
/// MLC NAND, ROM, DataFlash and UBI volumes are refused.
public final class MTDFlash: FlashDevice {
  public enum Kind: Equatable, CustomStringConvertible {
    case nor
    case ram
    case nand

    public var description: String {
      switch self {
      case .nor: return "NOR"
      case .ram: return "RAM"
      case .nand: return "SLC NAND"
      }
    }
  }

  public let path: String
  public let kind: Kind
  public let size: Int
  public let eraseBlockSize: Int
  public let writeSize: Int
  /// Opened O_RDONLY: reads work, program and erase throw `.unusable`.
  public let isReadOnly: Bool
  private let fd: Int32

  /// Opens `path` O_RDWR, or O_RDONLY when `readOnly` (enough to inspect a
  /// partition the kernel or device tree marks read-only).
  public init(path: String, readOnly: Bool = false) throws(StoreError) {
    let fd = ca_open(path, readOnly ? ca_flag_rdonly() : ca_flag_rdwr(), 0)
    guard fd >= 0 else { throw MTDFlash.openFailure(path: path, errno: ca_errno(), readOnly: readOnly) }
    var type: UInt8 = 0
    var flags: UInt32 = 0
    var size: UInt32 = 0
    var eraseSize: UInt32 = 0
    var writeSize: UInt32 = 0
    guard ca_mtd_get_info(fd, &type, &flags, &size, &eraseSize, &writeSize) == 0 else {
      let error = ca_errno()
      close(fd)
      if error == ENOTTY || error == EINVAL {
        throw .unusable("\(path) is not an MTD character device (MEMGETINFO refused): use /dev/mtdN")
      }
      throw .system(SystemError("MEMGETINFO \(path)", errno: error))
    }
    let kind: Kind
    switch Int32(type) {
    case ca_mtd_type_norflash(): kind = .nor
    case ca_mtd_type_ram(): kind = .ram
    case ca_mtd_type_nandflash(): kind = .nand
    case ca_mtd_type_mlcnandflash():
      close(fd)
      throw .unusable("\(path) is MLC NAND: raw slots are not safe there; use UBIFS and the file store")
    default:
      close(fd)
      throw .unusable("\(path) is MTD type \(type), not NOR, RAM or SLC NAND flash")
    }
    guard readOnly || flags & ca_mtd_flag_writeable() != 0 else {
      close(fd)
      throw .unusable(
        "\(path) is a read-only MTD partition (no MTD_WRITEABLE flag: check 'read-only' in the device tree"
          + " or mtdparts)")
    }
    guard size > 0, eraseSize > 0, writeSize > 0, eraseSize % writeSize == 0, size % eraseSize == 0 else {
      close(fd)
      throw .unusable(
        "\(path) reports unusable geometry: size \(size), erase block \(eraseSize), write unit \(writeSize)")
    }
    // Refused on every target alike: an armv7 build's Int and off_t cannot
    // address 2 GiB (Int(size) would trap), and a vault needs a few blocks.
    guard let addressable = Int(exactly: size), addressable <= Int(Int32.max) else {
      close(fd)
      throw .unusable("\(path) is \(size) bytes: partitions of 2 GiB or more are not supported")
    }
    self.path = path
    self.kind = kind
    self.size = addressable
    self.eraseBlockSize = Int(eraseSize)
    self.writeSize = Int(writeSize)
    self.isReadOnly = readOnly
    self.fd = fd
  }

  deinit { close(fd) }

  public func read(offset: Int, count: Int) throws(StoreError) -> [UInt8] {
    try checkRange(offset: offset, count: count)
    var out = [UInt8](repeating: 0, count: count)
    let got = out.withUnsafeMutableBytes { ca_pread_full(fd, $0.baseAddress, $0.count, Int64(offset)) }
    guard got >= 0 else { throw failure("read", offset: offset, errno: ca_errno()) }
    // The range is inside the device, so a short read means the driver gave up.
    guard got == count else { throw failure("read", offset: offset, errno: EIO) }
    return out
  }

  public func program(offset: Int, bytes: [UInt8]) throws(StoreError) {
    try checkWritable()
    try checkRange(offset: offset, count: bytes.count)
    guard offset % writeSize == 0, bytes.count % writeSize == 0 else {
      throw .unusable(
        "\(path): program of \(bytes.count) bytes at offset \(offset) is not whole \(writeSize)-byte pages")
    }
    let written = bytes.withUnsafeBytes { ca_pwrite_full(fd, $0.baseAddress, $0.count, Int64(offset)) }
    guard written == bytes.count else { throw failure("program", offset: offset, errno: ca_errno()) }
  }

  public func erase(block: Int) throws(StoreError) {
    try checkWritable()
    guard block >= 0, block < size / eraseBlockSize else {
      throw .unusable("\(path): no erase block \(block) (the partition has \(size / eraseBlockSize))")
    }
    let start = block * eraseBlockSize
    if kind == .nand {
      let bad = ca_mtd_is_bad_block(fd, Int64(start))
      guard bad >= 0 else { throw failure("MEMGETBADBLOCK", offset: start, errno: ca_errno()) }
      guard bad == 0 else { throw .unusable("\(path): erase block \(block) is marked bad") }
    }
    // Geometry came from 32-bit fields, so these conversions cannot trap.
    guard ca_mtd_erase(fd, UInt32(start), UInt32(eraseBlockSize)) == 0 else {
      throw failure("MEMERASE", offset: start, errno: ca_errno())
    }
  }

  /// An exclusive flock(2) on this device's descriptor, held until it is
  /// closed (the object's end). The node is the natural lock object: every
  /// camera-agent process opens the same /dev/mtdN, and nothing has to be
  /// created under /run first. Closing MTDFlash releases it.
  public func takeOwnership() throws(StoreError) {
    guard ca_flock_exclusive(fd, 0) == 0 else {
      let error = ca_errno()
      if ca_would_block(error) != 0 { throw .busy(holder: Int(ca_flock_holder(fd))) }
      throw .system(SystemError("flock \(path)", errno: error))
    }
  }

  public func releaseOwnership() { _ = ca_flock_release(fd) }

  private func checkWritable() throws(StoreError) {
    guard !isReadOnly else { throw .unusable("\(path) was opened read-only") }
  }

  private func checkRange(offset: Int, count: Int) throws(StoreError) {
    guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
      throw .unusable("\(path): \(count) bytes at offset \(offset) run past the \(size)-byte partition")
    }
  }

  /// Permission and read-only failures are configuration problems with a fix
  /// an operator can act on; anything else (EIO from a worn block) is the
  /// chip's and keeps its errno.
  private func failure(_ operation: String, offset: Int, errno: Int32) -> StoreError {
    switch errno {
    case EROFS, EACCES, EPERM:
      return .unusable(SystemError("\(operation) \(path) at offset \(offset)", errno: errno).description)
    default:
      return .system(SystemError("\(operation) \(path) at offset \(offset)", errno: errno))
    }
  }

  private static func openFailure(path: String, errno: Int32, readOnly: Bool) -> StoreError {
    let mode = readOnly ? "reading" : "reading and writing"
    switch errno {
    case ENOENT:
      return .unusable("\(path) does not exist (see /proc/mtd for this kernel's MTD partitions)")
    case ENODEV, ENXIO:
      return .unusable("\(path): no MTD device behind this node (see /proc/mtd)")
    case EACCES, EPERM:
      return .unusable(
        "\(path): permission denied opening for \(mode) (not root, or a read-only partition opened for writing)"
      )
    case EROFS:
      return .unusable("\(path) is read-only: it cannot be opened for \(mode)")
    default:
      return .system(SystemError("open \(path)", errno: errno))
    }
  }
}
