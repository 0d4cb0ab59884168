import AgentCore
import AgentTestSupport
import Foundation
import Testing

@Suite struct StatusReportTests {
  @Test func minutePrecisionUTC() {
    #expect(UTCMinute.format(0) == "1970-01-01T00:00Z")
    #expect(UTCMinute.format(1_795_858_919) == "2026-11-28T09:41Z")
    #expect(UTCMinute.format(1_709_251_140) == "2024-02-29T23:59Z")
    #expect(UTCMinute.format(951_868_800) == "2000-03-01T00:00Z")
    #expect(UTCMinute.format(-1) == nil)
  }

  @Test func firmwareVersionRule() throws {
    for good in ["12", "1.4.2-rc1+build.7~deb12", "v2_0", String(repeating: "9", count: 64)] {
      #expect(try FirmwareVersion(validating: good).text == good)
    }
    #expect(throws: FirmwareVersion.Invalid.empty) { _ = try FirmwareVersion(validating: "") }
    #expect(throws: FirmwareVersion.Invalid.tooLong(65)) {
      _ = try FirmwareVersion(validating: String(repeating: "1", count: 65))
    }
    for bad in ["1.0 beta", "1.0\"", "1.0\u{1}", "owner@example.com", "1.0\\", "1.0\n", "Ü1"] {
      #expect(throws: FirmwareVersion.Invalid.self, "\(bad)") { _ = try FirmwareVersion(validating: bad) }
    }
  }

  /// The keys the agent ever sends in a report equal the allowlist, in order.
  /// Adding a field to `StatusReport.body()` without adding it to
  /// `allowedKeys` (and so to this review) fails here.
  @Test func reportKeysEqualTheAllowlist() throws {
    let report = StatusReport(
      deviceID: "cam-0001", firmwareVersion: try FirmwareVersion(validating: "1.4.2"),
      lastActivation: 1_795_858_919, agentVersion: AgentVersion.string)
    let body = try #require(report.body())
    let object = try JSONReader.parseObject(body)
    #expect(object.members.map(\.key) == StatusReport.allowedKeys)
    #expect(
      String(decoding: body, as: UTF8.self)
        == "{\"schema\":1,\"device_id\":\"cam-0001\",\"firmware_version\":\"1.4.2\","
        + "\"last_activation\":\"2026-11-28T09:41Z\",\"agent_version\":\"\(AgentVersion.string)\"}")
  }

  func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID().uuidString)")
    try Data(bytes).write(to: url)
    return url.path
  }

  @Test func sourcesReadOneKeyAndNothingElse() throws {
    let osRelease = try temporaryFile(Array("NAME=\"Camera OS\"\nVERSION_ID=\"12.4\"\nID=camos\n".utf8))
    #expect(try FirmwareVersionSource.osRelease(path: osRelease).load().text == "12.4")
    let vendor = try temporaryFile(
      Array("NICKNAME=Front door\nWIFI_SSID=HomeNet-CANARY\nFW_VERSION=3.1.0\r\nOWNER=a@b.test\n".utf8))
    #expect(try FirmwareVersionSource.keyValue(path: vendor, key: "FW_VERSION").load().text == "3.1.0")
    #expect(throws: FirmwareVersionSource.Failure.keyMissing(path: vendor, key: "VERSION")) {
      _ = try FirmwareVersionSource.keyValue(path: vendor, key: "VERSION").load()
    }
    // U-Boot environment image: CRC-32 then NUL-separated pairs.
    let data = Array("bootdelay=3\0fw_version=2026.11\0\0".utf8) + [UInt8](repeating: 0, count: 16)
    let crc = CRC32.checksum(data)
    let image = (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32(8 * $0)) } + data
    let env = try temporaryFile(image)
    #expect(try FirmwareVersionSource.ubootEnvironment(path: env, key: "fw_version").load().text == "2026.11")
    var corrupt = image
    corrupt[10] ^= 1
    let bad = try temporaryFile(corrupt)
    #expect(throws: FirmwareVersionSource.Failure.self) {
      _ = try FirmwareVersionSource.ubootEnvironment(path: bad, key: "fw_version").load()
    }
  }

  @Test func hostileSourcesAreRefusedNotEscaped() throws {
    let missing = FirmwareVersionSource.osRelease(path: "/nonexistent/os-release")
    #expect(throws: FirmwareVersionSource.Failure.self) { _ = try missing.load() }
    let empty = try temporaryFile(Array("VERSION_ID=\n".utf8))
    #expect(throws: FirmwareVersionSource.Failure.invalid(.empty)) {
      _ = try FirmwareVersionSource.osRelease(path: empty).load()
    }
    let huge = try temporaryFile(
      Array("VERSION_ID=".utf8) + [UInt8](repeating: UInt8(ascii: "1"), count: 10_485_760))
    #expect(throws: FirmwareVersionSource.Failure.self) {
      _ = try FirmwareVersionSource.osRelease(path: huge).load()
    }
    let quotes = try temporaryFile(Array("VERSION_ID=1.0\",\"wifi_ssid\":\"x\n".utf8))
    #expect(throws: FirmwareVersionSource.Failure.self) {
      _ = try FirmwareVersionSource.osRelease(path: quotes).load()
    }
    let control = try temporaryFile(Array("VERSION_ID=1.0\u{1b}[2J\u{7}\n".utf8))
    #expect(throws: FirmwareVersionSource.Failure.self) {
      _ = try FirmwareVersionSource.osRelease(path: control).load()
    }
  }

  @Test func configFormsParse() {
    #expect(FirmwareVersionSource.parse("os-release:/etc/os-release") == .osRelease(path: "/etc/os-release"))
    #expect(
      FirmwareVersionSource.parse("keyvalue:/etc/info:FW_VERSION")
        == .keyValue(path: "/etc/info", key: "FW_VERSION"))
    #expect(
      FirmwareVersionSource.parse("uboot-env:/dev/mtd2:fw_version")
        == .ubootEnvironment(path: "/dev/mtd2", key: "fw_version"))
    for bad in ["os-release:relative", "keyvalue:/etc/info", "keyvalue:/etc/info:BAD KEY", "ini:/x:y", ""] {
      #expect(FirmwareVersionSource.parse(bad) == nil, "\(bad)")
    }
  }

  /// `report --dry-run` on the real binary prints exactly the body bytes.
  @Test func dryRunPrintsExactlyTheBody() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "dryrun-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let huk = Array("dry-run test hardware key 012345".utf8)
    try Data(huk).write(to: directory.appendingPathComponent("huk"))
    try Data("ID=camos\nVERSION_ID=\"7.2.1\"\n".utf8).write(
      to: directory.appendingPathComponent("os-release"))
    let vaultPath = directory.appendingPathComponent("vault").path
    var vault = Vault(store: FileSlotStore(directory: vaultPath), hardwareKey: SecretBytes(huk))
    var contents = VaultContents(deviceID: "cam-dry-01")
    contents.identityKey = SecretBytes(Array("not used here".utf8))
    contents.lastActivation = 1_795_858_919
    var random = SystemRandom()
    _ = try vault.open()
    try vault.commit(contents, random: &random)
    let config = directory.appendingPathComponent("agent.conf")
    try """
    vault_path = \(vaultPath)
    key_source = file:\(directory.path)/huk
    firmware_version_source = os-release:\(directory.path)/os-release
    """.write(to: config, atomically: true, encoding: .utf8)
    let run = try AgentRun.run(["--config", config.path, "report", "--dry-run"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stderr.isEmpty)
    #expect(
      run.stdout
        == "{\"schema\":1,\"device_id\":\"cam-dry-01\",\"firmware_version\":\"7.2.1\","
        + "\"last_activation\":\"2026-11-28T09:41Z\",\"agent_version\":\"\(AgentVersion.string)\"}")
    // A hostile version source: a clear error, and nothing on stdout at all.
    try Data("VERSION_ID=1.0\",\"ssid\":\"x\n".utf8).write(to: directory.appendingPathComponent("os-release"))
    let refused = try AgentRun.run(["--config", config.path, "report", "--dry-run"])
    #expect(refused.status == 1)
    #expect(refused.stdout.isEmpty)
    #expect(refused.stderr.contains("firmware version has a character outside"))
    // Sending is not in this build: a usage error, not a silent no-op.
    #expect(try AgentRun.run(["--config", config.path, "report"]).status == 64)
  }
}
