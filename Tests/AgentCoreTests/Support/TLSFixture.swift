import Foundation

/// Starts Tests/fixtures/tls_fixture.py (a loopback HTTPS server with a
/// throwaway CA) for the duration of a test.
final class TLSFixture {
  let directory: URL
  let port: Int
  private let process: Process

  var caFile: String { directory.appendingPathComponent("ca.pem").path }
  var otherCAFile: String { directory.appendingPathComponent("other-ca.pem").path }
  func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

  init() throws {
    directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("tls-fixture-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let portFile = directory.appendingPathComponent("port")
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", TestPaths.repository.appendingPathComponent("Tests/fixtures/tls_fixture.py").path,
      "--dir", directory.path, "--port-file", portFile.path,
    ]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
      if let text = try? String(contentsOf: portFile, encoding: .utf8), let value = Int(text) {
        port = value
        return
      }
      guard process.isRunning else { break }
      Thread.sleep(forTimeInterval: 0.05)
    }
    process.terminate()
    throw FixtureError.didNotStart
  }

  deinit {
    process.terminate()
    process.waitUntilExit()
    try? FileManager.default.removeItem(at: directory)
  }

  enum FixtureError: Error { case didNotStart }
}
