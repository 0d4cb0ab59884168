import Foundation

enum TestPaths {
  /// The package root, found from this file's location.
  static let repository: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The hosted `camera-agent` binary SwiftPM built next to the test bundle.
  static var agentBinary: URL {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = testBinary.deletingLastPathComponent()
    // The test binary may sit inside a bundle directory (X.xctest/...).
    while directory.path != "/" {
      let candidate = directory.appendingPathComponent("camera-agent")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      directory = directory.deletingLastPathComponent()
    }
    return testBinary.deletingLastPathComponent().appendingPathComponent("camera-agent")
  }
}

/// Runs the real binary and captures what it did.
struct AgentRun {
  let status: Int32
  let stdout: String
  let stderr: String

  /// Output goes to temporary files, not pipes: a pipe's write end can leak
  /// into a fixture process started concurrently by another test, and then
  /// reading to end-of-file never finishes.
  static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> AgentRun {
    try run(executable: TestPaths.agentBinary, arguments, environment: environment)
  }

  /// Runs any program the same way (stdin from /dev/null, output to files).
  static func run(executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws
    -> AgentRun
  {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("agent-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout")
    let errURL = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return AgentRun(
      status: process.terminationStatus,
      stdout: try String(contentsOf: outURL, encoding: .utf8),
      stderr: try String(contentsOf: errURL, encoding: .utf8))
  }
}
