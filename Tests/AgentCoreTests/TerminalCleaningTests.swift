import Foundation
import Testing

@testable import AgentCore

/// Issue 13 item 12: text from a server or a config file reaches stderr
/// through the logger's rule on every path, the CLI included.
@Suite(.serialized) struct TerminalCleaningTests {
  static let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\r\ncamera-agent: state active -> active"

  /// Runs `body` with fd 2 (or 1) sent to a file; returns what was written.
  static func capture(fd: Int32, _ body: () -> Void) throws -> [UInt8] {
    let path = NSTemporaryDirectory() + "ca-capture-\(UUID().uuidString)"
    let file = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o600)
    #expect(file >= 0)
    defer {
      close(file)
      unlink(path)
    }
    let saved = dup(fd)
    dup2(file, fd)
    body()
    dup2(saved, fd)
    close(saved)
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  static func isOnePrintableLine(_ bytes: [UInt8]) -> Bool {
    bytes.last == 0x0a && bytes.dropLast().allSatisfy { $0 >= 0x20 && $0 < 0x7f }
  }

  /// What WipeCommand printed raw: a redirect's 10,200-byte Location with
  /// terminal escapes, inside an error description.
  @Test func diagnosticsAreOneCleanMaskedLine() throws {
    let location =
      "https://evil.example/?code=SplxlOBeZQQY&x=" + String(repeating: "A", count: 10_100) + Self.hostile
    let written = try Self.capture(fd: 2) {
      Console.err("camera-agent: could not revoke the session at the cloud: redirect to \(location)")
    }
    #expect(Self.isOnePrintableLine(written))
    #expect(written.count <= LogSafeText.lineLimit + 1)
    let text = String(decoding: written, as: UTF8.self)
    #expect(text.contains("code=[masked]") && !text.contains("SplxlOBeZQQY"))
  }

  @Test func outputLinesArePrintable() throws {
    let written = try Self.capture(fd: 1) { Console.out("vault=/data/\(Self.hostile)") }
    #expect(Self.isOnePrintableLine(written))
    #expect(String(decoding: written, as: UTF8.self).hasPrefix("vault=/data/"))
  }

  /// Through the real binary: a config key with escapes, 60 KB long.
  @Test func configErrorsDoNotEchoTheFileRaw() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID()).conf")
    let key = "serv\u{1b}]0;x\u{7}er" + String(repeating: "k", count: 60_000)
    try "server = https://x\n\(key) = 1\nwifi_\u{1b}[2J = 2\n".write(
      to: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: path) }
    let run = try AgentRun.run(["--config", path.path, "selftest"])
    #expect(run.status == 78)
    let bytes = Array(run.stderr.utf8)
    #expect(Self.isOnePrintableLine(bytes), "\(run.stderr.prefix(200))")
    #expect(bytes.count <= 300, "the key is quoted briefly: \(bytes.count) bytes")
    #expect(run.stderr.contains(":2: "))
  }
}
