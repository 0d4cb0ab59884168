import AgentCore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A TPM 2.0 emulator (swtpm) for one test: raw TPM commands on a loopback
/// TCP port, its NV state in a temporary directory that outlives restarts
/// of the process (`powerCut()` then `start()`), removed at deinit.
///
/// Ports are drawn at random and the start retried when swtpm cannot bind
/// (it exits); a port is only taken once our own child holds its listening
/// socket (other suites run swtpm too) and it answers a TPM command. Stopped with SIGKILL: the test
/// process hands children a blocked SIGTERM, and a kill is also the abrupt
/// power-off the persistence test wants.
final class Swtpm {
  let stateDirectory: URL
  private(set) var port: UInt16 = 0
  private var process: Process?

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  init() throws {
    stateDirectory = FileManager.default.temporaryDirectory
      .appendingPathComponent("swtpm-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
    do {
      try Self.ensureInstalled()
      try start()
    } catch {
      try? FileManager.default.removeItem(at: stateDirectory)
      throw error
    }
  }

  deinit {
    powerCut()
    try? FileManager.default.removeItem(at: stateDirectory)
  }

  /// Starts swtpm on the existing state (a fresh TPM the first time).
  func start() throws {
    precondition(process == nil, "swtpm already running")
    var lastLog = ""
    for _ in 0..<20 {
      let server = UInt16.random(in: 20_000...59_000)
      let log = stateDirectory.appendingPathComponent("swtpm.log")
      _ = FileManager.default.createFile(atPath: log.path, contents: nil)
      let child = Process()
      child.executableURL = URL(fileURLWithPath: "/usr/bin/swtpm")
      child.arguments = [
        "socket", "--tpm2",
        "--server", "type=tcp,port=\(server),bindaddr=127.0.0.1",
        "--ctrl", "type=tcp,port=\(server + 1),bindaddr=127.0.0.1",
        "--flags", "not-need-init,startup-clear",
        "--tpmstate", "dir=\(stateDirectory.path)",
      ]
      child.standardInput = FileHandle.nullDevice
      child.standardOutput = try FileHandle(forWritingTo: log)
      child.standardError = try FileHandle(forWritingTo: log)
      try child.run()
      let deadline = Date().addingTimeInterval(30)
      while Date() < deadline, child.isRunning {
        if Self.listens(child.processIdentifier, on: server),
          let transport = try? SwtpmTransport(port: server),
          Self.answersAsTPM(transport)
        {
          process = child
          port = server
          return
        }
        Thread.sleep(forTimeInterval: 0.05)
      }
      Self.kill(child)
      lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }
    throw Failure(description: "swtpm did not start: \(lastLog)")
  }

  /// SIGKILL: no TPM2_Shutdown, as when the board loses power.
  func powerCut() {
    if let process { Self.kill(process) }
    process = nil
  }

  func transport() throws -> SwtpmTransport {
    try SwtpmTransport(port: port)
  }

  /// Whether `pid` itself holds the socket listening on 127.0.0.1:`port`:
  /// another test's swtpm on a colliding port would answer just as well,
  /// so the socket's inode in /proc/net/tcp must be one of our child's fds.
  private static func listens(_ pid: Int32, on port: UInt16) -> Bool {
    guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
    let local = "0100007F:" + String(format: "%04X", port)
    let inodes = table.split(separator: "\n").compactMap { line -> String? in
      let fields = line.split(separator: " ")
      // sl, local_address, rem_address, st (0A = LISTEN), ..., inode at 9.
      guard fields.count > 9, fields[1] == local, fields[3] == "0A" else { return nil }
      return String(fields[9])
    }
    guard !inodes.isEmpty,
      let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
    else { return false }
    let ours = Set(
      fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") })
    return inodes.contains { ours.contains("socket:[\($0)]") }
  }

  private static func answersAsTPM(_ transport: SwtpmTransport) -> Bool {
    // Any well-formed TPM answer will do: success or TPM_RC_HANDLE.
    do throws(TPMError) {
      _ = try TPMResponse.parameters(
        transport.transmit(TPMCommand.readPublic(index: 0x01FF_FFFF)),
        command: TPMConstant.ccNVReadPublic, sessions: false)
      return true
    } catch {
      if case .responseCode = error { return true }
      return false
    }
  }

  private static func kill(_ process: Process) {
    guard process.isRunning else { return }
    Glibc.kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  private static func ensureInstalled() throws {
    guard !FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm") else { return }
    let run = try AgentRun.run(
      executable: URL(fileURLWithPath: "/bin/bash"),
      [TestPaths.repository.appendingPathComponent("Tests/tpm/setup-nv.sh").path])
    guard run.status == 0 else { throw Failure(description: "Tests/tpm/setup-nv.sh: \(run.stderr)") }
  }
}

/// swtpm's server port: a stream of raw TPM 2.0 commands and responses.
/// A response is read as its 10-byte header, then the rest its size field
/// announces (bounded), so a lying size cannot make the test hang or grow.
final class SwtpmTransport: TPMTransport {
  private let fd: Int32

  init(port: UInt16) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Swtpm.Failure(description: "socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let status = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard status == 0 else {
      close(fd)
      throw Swtpm.Failure(description: "connect 127.0.0.1:\(port): errno \(errno)")
    }
    self.fd = fd
  }

  deinit { close(fd) }

  func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
    var sent = 0
    while sent < command.count {
      let n = command[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { throw .transport(SystemError("send", errno: errno)) }
      sent += n
    }
    var response = try receive(10)
    let size = Int(response[2]) << 24 | Int(response[3]) << 16 | Int(response[4]) << 8 | Int(response[5])
    guard size >= 10, size <= TPMConstant.maxResponseBytes else { return response }
    response += try receive(size - 10)
    return response
  }

  private func receive(_ count: Int) throws(TPMError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
      let n = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { throw .transport(SystemError("recv", errno: n == 0 ? ECONNRESET : errno)) }
      got += n
    }
    return out
  }
}
