import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A software TPM 2.0 (swtpm) on loopback for the duration of a test, with
/// its state in a directory that survives `restart()`, so a "reboot" of the
/// board (TPM stopped and started again on the same state) can be tested.
///
/// Ports: swtpm takes a server and a control port; a random pair in a high
/// range is tried and, if swtpm cannot bind them (it exits), another pair,
/// up to a bound. The process is stopped by PID in `stop()` and in deinit.
final class SwtpmProviderFixture {
  let stateDirectory: URL
  private(set) var port: Int = 0
  private var process: Process?

  /// The TCTI string for tpm2-openssl (TPM2OPENSSL_TCTI) to reach this swtpm.
  var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

  enum FixtureError: Error, CustomStringConvertible {
    case notInstalled(String)
    case didNotStart(String)
    var description: String {
      switch self {
      case .notInstalled(let what): return "swtpm fixture: \(what) (run Tests/tpm/setup.sh)"
      case .didNotStart(let log): return "swtpm did not start: \(log)"
      }
    }
  }

  /// Runs Tests/tpm/setup.sh once per process (idempotent: a no-op when
  /// everything is installed), then checks that swtpm and the provider exist.
  private static let setUp: Result<Void, FixtureError> = {
    let script = TestPaths.repository.appendingPathComponent("Tests/tpm/setup.sh")
    let run = try? AgentRun.run(executable: URL(fileURLWithPath: "/bin/sh"), [script.path])
    guard let run, run.status == 0 else {
      return .failure(.notInstalled("setup.sh failed: \(run?.stderr ?? "did not run")"))
    }
    guard SwtpmProviderFixture.findSwtpm() != nil else { return .failure(.notInstalled("no swtpm")) }
    return .success(())
  }()

  static func findSwtpm() -> String? {
    for path in ["/usr/bin/swtpm", "/usr/local/bin/swtpm"]
    where FileManager.default.isExecutableFile(atPath: path) {
      return path
    }
    return nil
  }

  init() throws {
    try SwtpmProviderFixture.setUp.get()
    stateDirectory = FileManager.default.temporaryDirectory
      .appendingPathComponent("swtpm-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
    do {
      try start()
    } catch {
      try? FileManager.default.removeItem(at: stateDirectory)
      throw error
    }
  }

  deinit {
    stop()
    try? FileManager.default.removeItem(at: stateDirectory)
  }

  /// Starts swtpm on the state directory (kept from any previous run).
  func start() throws {
    precondition(process == nil, "swtpm already running")
    guard let swtpm = SwtpmProviderFixture.findSwtpm() else { throw FixtureError.notInstalled("no swtpm") }
    let log = stateDirectory.appendingPathComponent("swtpm.log")
    var lastLog = ""
    for _ in 0..<20 {
      let candidate = Int.random(in: 20_000...59_998)
      _ = FileManager.default.createFile(atPath: log.path, contents: nil)
      let handle = try FileHandle(forWritingTo: log)
      let child = Process()
      child.executableURL = URL(fileURLWithPath: swtpm)
      child.arguments = [
        "socket", "--tpm2",
        "--server", "type=tcp,port=\(candidate),bindaddr=127.0.0.1",
        "--ctrl", "type=tcp,port=\(candidate + 1),bindaddr=127.0.0.1",
        "--flags", "not-need-init,startup-clear",
        "--tpmstate", "dir=\(stateDirectory.path)",
      ]
      child.standardInput = FileHandle.nullDevice
      child.standardOutput = handle
      child.standardError = handle
      try child.run()
      try? handle.close()
      // Ready when the server port accepts a connection; a child that exits
      // first could not bind (or failed otherwise): try another pair.
      let deadline = Date().addingTimeInterval(30)
      while Date() < deadline, child.isRunning {
        if SwtpmProviderFixture.canConnect(port: candidate) {
          port = candidate
          process = child
          return
        }
        Thread.sleep(forTimeInterval: 0.05)
      }
      if child.isRunning {
        child.terminate()
      }
      child.waitUntilExit()
      lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }
    throw FixtureError.didNotStart(lastLog)
  }

  /// Stops swtpm: CMD_SHUTDOWN on its control channel (a clean TPM shutdown,
  /// state saved), then SIGTERM, and SIGKILL to its PID if it is still running
  /// after a generous bound. Signals alone do not do: a child spawned from a
  /// test's worker thread inherits that thread's mask, in which SIGTERM is
  /// blocked (seen: SigBlk fffffffe3bfbea27 in swtpm's /proc status). Idempotent.
  func stop() {
    guard let child = process else { return }
    process = nil
    if child.isRunning { SwtpmProviderFixture.sendShutdown(controlPort: port + 1) }
    var deadline = Date().addingTimeInterval(20)
    while child.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if child.isRunning { child.terminate() }
    deadline = Date().addingTimeInterval(5)
    while child.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if child.isRunning { kill(child.processIdentifier, SIGKILL) }
    child.waitUntilExit()
  }

  /// swtpm's control protocol: a 4-byte big-endian command code, CMD_SHUTDOWN
  /// is 3; the answer is a 4-byte result code, read so the command completes.
  private static func sendShutdown(controlPort: Int) {
    guard let fd = connectLoopback(port: controlPort) else { return }
    defer { close(fd) }
    var command: [UInt8] = [0, 0, 0, 3]
    guard write(fd, &command, 4) == 4 else { return }
    var answer = [UInt8](repeating: 0, count: 4)
    _ = read(fd, &answer, 4)
  }

  /// Runs `body` with swtpm up, and stops swtpm after it returns or throws.
  /// Whatever `body` opened on the TPM (elements, keys) is released by then,
  /// since it was local to `body`: the TPM goes away only after its clients.
  func whileRunning<R>(_ body: () throws -> R) rethrows -> R {
    defer { stop() }
    return try body()
  }

  /// A power cut: SIGKILL to swtpm's PID, no TPM shutdown. Idempotent.
  func cut() {
    guard let child = process else { return }
    process = nil
    if child.isRunning { kill(child.processIdentifier, SIGKILL) }
    child.waitUntilExit()
  }

  /// The running swtpm's PID (0 when stopped), to tell two runs apart.
  var pid: Int32 { process?.processIdentifier ?? 0 }

  /// A reboot: stop, then start again on the same state directory.
  func restart() throws {
    stop()
    try start()
  }

  private static func canConnect(port: Int) -> Bool {
    guard let fd = connectLoopback(port: port) else { return false }
    close(fd)
    return true
  }

  private static func connectLoopback(port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard result == 0 else {
      close(fd)
      return nil
    }
    return fd
  }
}
