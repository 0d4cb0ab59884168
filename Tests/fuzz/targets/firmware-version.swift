// Firmware-version sources (Report/FirmwareVersionSource.swift): os-release,
// a key=value file and a U-Boot environment image (single or redundant). Whatever the file holds,
// a version that loads is one FirmwareVersion accepts (printable, bounded).
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFirmwareVersion(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let (mode, file) = selector(fuzzInput(data, size))
  var raw: [UInt8]? = nil
  switch mode % 3 {
  case 0:
    raw = FirmwareVersionSource.lineValue(file, key: "VERSION_ID").map(FirmwareVersionSource.unquoted)
  case 1:
    raw = FirmwareVersionSource.lineValue(file, key: "firmware_version")
  default:
    var image = file
    // Half the inputs get a correct CRC, so the fuzzer reaches the entries.
    if mode & 0x80 != 0 && image.count > 4 {
      let crc = CRC32.checksum(Array(image[4...]))
      for index in 0..<4 { image[index] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * index)) }
    }
    // Bit 6: a redundant environment (two copies, each with its own CRC
    // and flag byte) at the image's half, as fw_env.config describes one;
    // otherwise the board default, one copy filling the image.
    var layout: UBootEnvironment? = nil
    if mode & 0x40 != 0 && image.count >= 16 {
      layout = UBootEnvironment(size: image.count / 2, layout: .redundant(secondOffset: image.count / 2))
    }
    do throws(FirmwareVersionSource.Failure) {
      raw = try FirmwareVersionSource.ubootValue(image, key: "ver", path: "/dev/mtd2", layout: layout)
    } catch {
      requireLogSafe(error.description, "U-Boot env error")
    }
  }
  guard let raw, let text = String(validating: raw, as: UTF8.self) else { return 0 }
  do throws(FirmwareVersion.Invalid) {
    let version = try FirmwareVersion(validating: text)
    require(version.text == text, "accepted text kept as is")
    require(isPrintableASCII(version.text), "version printable")
    require(
      !version.text.isEmpty && version.text.utf8.count <= FirmwareVersion.maximumLength, "version bounded")
  } catch {
    requireLogSafe(error.description, "firmware version error")
  }
  return 0
}
