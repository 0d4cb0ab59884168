import AgentCore
import Foundation
import Testing

/// The /dev/tpmrm0 transport's system-call path, without a TPM: a FIFO
/// opened read-write hands back what was written, so one transmit shows
/// the whole command went out in one write and the reply came back in one read.
@Suite struct TPMDeviceTransportTests {
  @Test func oneWriteOneRead() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tpm-fifo-\(UUID().uuidString)")
      .path
    #expect(mkfifo(path, 0o600) == 0)
    defer { unlink(path) }
    let transport = try DeviceTPMTransport(path: path)
    let command = TPMCommand.read(index: 0x0180_0CA0, size: 8, offset: 0)
    #expect(try transport.transmit(command) == command)
  }

  @Test func missingDeviceIsATransportError() {
    do {
      _ = try DeviceTPMTransport(path: "/nonexistent/tpmrm0")
      Issue.record("opened a missing device")
    } catch {
      #expect(error == .transport(SystemError("open /nonexistent/tpmrm0", errno: ENOENT)))
    }
  }
}
