import AgentCore
import Foundation
import Testing

/// `anti_rollback` through the real binary: a counter that cannot be opened
/// or answers garbage stops every command with the reason and changes
/// nothing (no fallback to an unbound vault), and a bound `status` on a
/// vault written unbound is refused. The TPM paths themselves run against
/// swtpm (`VaultRollbackSwtpmTests`); there is no /dev/tpmrm0 on this host.
@Suite struct AntiRollbackCLITests {
  typealias Board = AttestCommandTests.Board

  static func slotFiles(_ board: Board) throws -> [String: Data] {
    let vault = board.directory.appendingPathComponent("vault")
    var files: [String: Data] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: vault.path)) ?? [] {
      files[name] = try Data(contentsOf: vault.appendingPathComponent(name))
    }
    return files
  }

  @Test func aMissingTPMStopsEveryCommandAndChangesNothing() throws {
    let board = try Board()
    #expect(try board.agent(["provision", "--device-id", "cam-rb-cli1"]).status == 0)
    let before = try Self.slotFiles(board)
    #expect(!before.isEmpty)
    let missing = "anti_rollback = tpm:\(board.directory.path)/no-tpmrm0\n"
    for arguments in [["status"], ["wipe"], ["provision", "--device-id", "cam-rb-cli2", "--force"]] {
      let run = try board.agent(arguments, extraConfig: missing)
      #expect(run.status == 1, "\(arguments): \(run.status) \(run.stderr)")
      // (The temporary directory's UUID is masked like any token-shaped run.)
      #expect(run.stderr.contains("anti_rollback = tpm:/"), "\(run.stderr)")
      #expect(run.stderr.contains("/no-tpmrm0: TPM transport: open "), "\(run.stderr)")
      #expect(try Self.slotFiles(board) == before, "\(arguments) changed the vault")
    }
    // Without the setting the same vault still opens: nothing was lost.
    #expect(try board.agent(["status"]).stdout.contains("device_id=cam-rb-cli1"))
  }

  /// A "TPM" that answers each command with the command's own bytes (a
  /// FIFO): untrusted bytes that do not parse as a response. Provisioning
  /// refuses with the parser's reason and leaves the vault empty.
  @Test func garbageFromTheTPMIsRefused() throws {
    let board = try Board()
    let fifo = board.directory.appendingPathComponent("tpm-echo").path
    #expect(mkfifo(fifo, 0o600) == 0)
    let run = try board.agent(
      ["provision", "--device-id", "cam-rb-cli3"], extraConfig: "anti_rollback = tpm:\(fifo)\n")
    #expect(run.status == 1, "\(run.status) \(run.stderr)")
    #expect(run.stderr.contains("vault anti-rollback counter: "), "\(run.stderr)")
    #expect(try Self.slotFiles(board).keys.allSatisfy { !$0.hasSuffix(".rec") })
  }

  @Test func theSettingIsChecked() throws {
    let board = try Board()
    for value in ["tpm:dev/tpmrm0", "tpm:", "yes", "TPM"] {
      let run = try board.agent(["status"], extraConfig: "anti_rollback = \(value)\n")
      #expect(run.status == ExitCode.config, "\(value): \(run.status)")
      #expect(run.stderr.contains("expected none or tpm:/dev/tpmrm0"), "\(value): \(run.stderr)")
    }
    #expect(try board.agent(["status"], extraConfig: "anti_rollback = none\n").status == 0)
  }
}
