import Foundation
import Testing

@testable import AgentCore

/// The U-Boot environment reader against images made by U-Boot's own
/// `mkenvimage` (Debian u-boot-tools) and judged by libubootenv's
/// `fw_printenv` (Debian libubootenv-tool): both layouts, configured sizes,
/// flags, corrupted copies, inside partitions larger than the environment.
@Suite(.serialized) struct UBootEnvironmentTests {
  final class Scratch {
    let dir = NSTemporaryDirectory() + "ca-ubootenv-\(UUID().uuidString)"
    init() throws { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: dir) }
  }

  /// Runs a tool; stdout and the exit status.
  static func run(_ tool: String, _ arguments: [String]) throws -> (out: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
  }

  static let mkenvimage = "/usr/bin/mkenvimage"
  static let fwPrintenv = "/usr/bin/fw_printenv"

  /// One copy of `text` (`key=value` lines) made by mkenvimage.
  static func image(_ text: String, size: Int, redundant: Bool, scratch: Scratch) throws -> [UInt8] {
    let input = scratch.dir + "/env.txt"
    let output = scratch.dir + "/env.bin"
    try text.write(toFile: input, atomically: true, encoding: .utf8)
    let made = try run(mkenvimage, (redundant ? ["-r"] : []) + ["-s", "\(size)", "-o", output, input])
    #expect(made.status == 0, "mkenvimage failed")
    return Array(try Data(contentsOf: URL(fileURLWithPath: output)))
  }

  /// What libubootenv reads for `key` from `path` with this layout: the
  /// value, or nil when it finds no valid environment or no such key.
  static func reference(path: String, key: String, environment: UBootEnvironment, scratch: Scratch) throws
    -> String?
  {
    var config = "\(path) 0x0 0x\(String(environment.size, radix: 16))\n"
    if case .redundant(let offset) = environment.layout {
      config += "\(path) 0x\(String(offset, radix: 16)) 0x\(String(environment.size, radix: 16))\n"
    }
    let file = scratch.dir + "/fw_env.config"
    try config.write(toFile: file, atomically: true, encoding: .utf8)
    let result = try run(fwPrintenv, ["-c", file, key])
    guard result.status == 0, result.out.hasPrefix(key + "=") else { return nil }
    return String(result.out.dropFirst(key.count + 1)).trimmingCharacters(in: .newlines)
  }

  static func ours(path: String, key: String, environment: UBootEnvironment) -> String? {
    try? FirmwareVersionSource.ubootEnvironment(path: path, key: key, layout: environment).load().text
  }

  @Test func toolsArePresent() {
    #expect(FileManager.default.isExecutableFile(atPath: Self.mkenvimage), "apt-get install u-boot-tools")
    #expect(FileManager.default.isExecutableFile(atPath: Self.fwPrintenv), "apt-get install libubootenv-tool")
  }

  /// 150 random environments: sizes 4-64 KiB, single or redundant (second
  /// copy right after the first or a 128 KiB erase block on), random flags,
  /// random bit flips in either copy (including the unused tail the CRC
  /// covers), in a partition padded with 0xff. The reader gives the value
  /// libubootenv gives, and fails exactly when it finds nothing.
  @Test func agreesWithLibubootenvOnRandomImages() throws {
    let scratch = try Scratch()
    var rng = SystemRandomNumberGenerator()
    let versionAlphabet = Array("ABCXYZabcxyz0123456789._+-~")
    let valueAlphabet = Array("abcXYZ019 =:/.,;-_$'\"")
    var agreed = 0
    var redundantValid = 0
    var refused = 0
    for round in 0..<150 {
      let size = [0x1000, 0x2000, 0x4000, 0x10000].randomElement(using: &rng)!
      let redundant = Bool.random(using: &rng)
      let offset = Bool.random(using: &rng) ? size : 0x20000
      let environment = try #require(
        UBootEnvironment(size: size, layout: redundant ? .redundant(secondOffset: offset) : .single))
      func text(_ version: String) -> String {
        var lines: [String] = []
        for index in 0..<Int.random(in: 0...15, using: &rng) {
          let value = String(
            (0..<Int.random(in: 0...40, using: &rng)).map { _ in valueAlphabet.randomElement(using: &rng)! })
          lines.append("k\(index)_\(round)=\(value)")
        }
        lines.insert("fw_version=\(version)", at: Int.random(in: 0...lines.count, using: &rng))
        return lines.joined(separator: "\n") + "\n"
      }
      func version() -> String {
        String(
          (0..<Int.random(in: 1...20, using: &rng)).map { _ in versionAlphabet.randomElement(using: &rng)! })
      }
      var file = [UInt8](repeating: 0xff, count: environment.span + Int.random(in: 0...0x8000, using: &rng))
      let first = try Self.image(text(version()), size: size, redundant: redundant, scratch: scratch)
      file.replaceSubrange(0..<size, with: first)
      if case .redundant(let offset) = environment.layout {
        let second = try Self.image(text(version()), size: size, redundant: true, scratch: scratch)
        file.replaceSubrange(offset..<offset + size, with: second)
        file[4] = UInt8.random(in: 0...255, using: &rng)
        file[offset + 4] = [0, 255, file[4], UInt8.random(in: 0...255, using: &rng)].randomElement(
          using: &rng)!
      }
      for start in redundant ? [0, offset] : [0] where Int.random(in: 0..<4, using: &rng) == 0 {
        // Anywhere past the flags: the data, its end marker or the unused tail.
        file[start + Int.random(in: 5..<size, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
      }
      let path = scratch.dir + "/partition-\(round)"
      try Data(file).write(to: URL(fileURLWithPath: path))
      let want = try Self.reference(path: path, key: "fw_version", environment: environment, scratch: scratch)
      let got = Self.ours(path: path, key: "fw_version", environment: environment)
      #expect(
        got == want,
        "round \(round): size \(size), \(environment.layout): ours \(got ?? "nil"), libubootenv \(want ?? "nil")"
      )
      if got == want { agreed += 1 }
      if want == nil { refused += 1 }
      if redundant, want != nil { redundantValid += 1 }
    }
    // The random mix must have exercised both outcomes and the redundant path.
    #expect(refused > 5 && redundantValid > 20, "refused \(refused), redundant valid \(redundantValid)")
    #expect(agreed == 150)
  }

  /// Named cases: U-Boot's flag rule, and the CRC over the configured size.
  @Test func flagsAndConfiguredSize() throws {
    let scratch = try Scratch()
    let size = 0x4000
    let old = try Self.image("fw_version=1.0\n", size: size, redundant: true, scratch: scratch)
    let new = try Self.image("fw_version=2.0\n", size: size, redundant: true, scratch: scratch)
    let environment = try #require(UBootEnvironment(size: size, layout: .redundant(secondOffset: 0x20000)))
    for (flags, expected) in [
      ((1, 2), "2.0"), ((2, 1), "1.0"), ((255, 0), "2.0"), ((0, 255), "1.0"), ((7, 7), "1.0"),
    ] {
      var file = [UInt8](repeating: 0xff, count: 0x40000)
      file.replaceSubrange(0..<size, with: old)
      file.replaceSubrange(0x20000..<0x20000 + size, with: new)
      file[4] = UInt8(flags.0)
      file[0x20004] = UInt8(flags.1)
      let path = scratch.dir + "/flags-\(flags.0)-\(flags.1)"
      try Data(file).write(to: URL(fileURLWithPath: path))
      #expect(
        Self.ours(path: path, key: "fw_version", environment: environment) == expected, "flags \(flags)")
      #expect(
        try Self.reference(path: path, key: "fw_version", environment: environment, scratch: scratch)
          == expected)
    }
    // The example layout of a 256 KiB partition: a single 0x4000 copy read
    // from the start of it, not the whole partition.
    let single = try Self.image(
      "bootdelay=3\nfw_version=3.1\n", size: size, redundant: false, scratch: scratch)
    let path = scratch.dir + "/mtd2"
    try Data(single + [UInt8](repeating: 0xff, count: 0x40000 - size)).write(to: URL(fileURLWithPath: path))
    #expect(
      Self.ours(path: path, key: "fw_version", environment: UBootEnvironment(size: size, layout: .single)!)
        == "3.1")
    // The wrong size means the wrong CRC span: refused, never guessed.
    #expect(
      Self.ours(path: path, key: "fw_version", environment: UBootEnvironment(size: 0x2000, layout: .single)!)
        == nil)
    #expect(
      Self.ours(path: path, key: "fw_version", environment: UBootEnvironment(size: 0x8000, layout: .single)!)
        == nil)
    // The config form.
    #expect(
      FirmwareVersionSource.parse("uboot-env:/dev/mtd2:fw_version:0x4000:0x20000")
        == .ubootEnvironment(path: "/dev/mtd2", key: "fw_version", layout: environment))
    #expect(
      FirmwareVersionSource.parse("uboot-env:/dev/mtd2:fw_version:16384")
        == .ubootEnvironment(
          path: "/dev/mtd2", key: "fw_version", layout: UBootEnvironment(size: size, layout: .single)))
    for bad in [
      "uboot-env:/dev/mtd2:fw_version:0", "uboot-env:/dev/mtd2:fw_version:0x4000:0x100",
      "uboot-env:/dev/mtd2:fw_version:4k", "uboot-env:/dev/mtd2:fw_version:0x200000",
      "uboot-env:/dev/mtd2:fw_version:0x4000:0x20000:9",
    ] {
      #expect(FirmwareVersionSource.parse(bad) == nil, "\(bad)")
    }
  }
}
