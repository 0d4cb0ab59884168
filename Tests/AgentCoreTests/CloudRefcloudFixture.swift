import AgentCore
import Foundation

/// Runs the reference cloud (`python -m refcloud` from its venv) on a free
/// loopback port for one test, with test controls and a 1 s poll interval.
///
/// Output goes to a log file, never a pipe (a pipe's write end can leak into
/// another test's child). The test process hands its children a blocked
/// SIGTERM, so the server is stopped with SIGKILL; its state dir is thrown away.
final class CloudRefcloud {
  let stateDirectory: URL
  let port: Int
  let issuer: String
  private let process: Process

  var caFile: String { stateDirectory.appendingPathComponent("ca.pem").path }
  var python: String { Self.python.path }

  init() throws {
    stateDirectory = FileManager.default.temporaryDirectory
      .appendingPathComponent("cloud-refcloud-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
    try Self.ensureVenv()
    let portFile = stateDirectory.appendingPathComponent("port")
    let log = stateDirectory.appendingPathComponent("server.log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    process = Process()
    process.executableURL = Self.python
    process.currentDirectoryURL = TestPaths.repository.appendingPathComponent("Tests")
    process.arguments = [
      "-m", "refcloud", "--state-dir", stateDirectory.path, "--port", "0", "--port-file", portFile.path,
      "--test-controls", "--interval", "1",
    ]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: log)
    process.standardError = try FileHandle(forWritingTo: log)
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    let serverFile = stateDirectory.appendingPathComponent("server.json")
    while Date() < deadline {
      if let text = try? String(contentsOf: portFile, encoding: .utf8),
        let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
        let data = try? Data(contentsOf: serverFile),
        let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let issuer = info["issuer"] as? String
      {
        port = value
        self.issuer = issuer
        return
      }
      guard process.isRunning else { break }
      Thread.sleep(forTimeInterval: 0.05)
    }
    Self.stop(process)
    let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(at: stateDirectory)
    throw Failure(description: "refcloud did not start: \(output)")
  }

  deinit {
    Self.stop(process)
    try? FileManager.default.removeItem(at: stateDirectory)
  }

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  func secret(_ name: String) throws -> String {
    try String(contentsOf: stateDirectory.appendingPathComponent(name), encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

  /// A JSON request to the cloud over the agent's own transport (real TLS,
  /// pinned to the state dir's CA); returns the status and the parsed body.
  @discardableResult
  func call(
    _ method: HTTPMethod, _ path: String, bearer: String? = nil, json: String? = nil
  ) throws -> (status: Int, body: [String: Any]) {
    var transport = CurlTransport(policy: HTTPPolicy(caFile: caFile, maxResponseBytes: 4 * 1024 * 1024))
    var headers = [HTTPHeader("Accept", "application/json")]
    if let bearer { headers.append(HTTPHeader("Authorization", "Bearer " + bearer)) }
    if json != nil { headers.append(HTTPHeader("Content-Type", "application/json")) }
    let response = try transport.send(
      HTTPRequest(method: method, url: url(path), headers: headers, body: Array((json ?? "").utf8)))
    let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
    return (response.status, object ?? [:])
  }

  /// Registers a device's identity key at the factory endpoint.
  func register(deviceID: String, identity: P256PrivateKey) throws {
    let jwk = PublicJWK(try identity.publicKey()).json
    let (status, body) = try call(
      .post, "/factory/devices", bearer: try secret("factory_token"),
      json: #"{"device_id":"\#(deviceID)","jwk":\#(jwk)}"#)
    guard status == 201 || status == 200 else { throw Failure(description: "register: \(status) \(body)") }
  }

  /// Queues a fault (`POST /test/faults`).
  func fault(_ json: String) throws {
    let (status, body) = try call(.post, "/test/faults", json: json)
    guard status == 200 else { throw Failure(description: "fault: \(status) \(body)") }
  }

  /// This device's entry of `GET /test/state`.
  func deviceState(_ deviceID: String) throws -> [String: Any] {
    let (_, body) = try call(.get, "/test/state")
    return ((body["devices"] as? [String: Any])?[deviceID] as? [String: Any]) ?? [:]
  }

  /// The owner approves a user code on the phone, TOTP included (`owner.py`).
  func approve(userCode: String) throws {
    let process = Process()
    process.executableURL = Self.python
    process.arguments = [
      TestPaths.repository.appendingPathComponent("Tests/refcloud/owner.py").path, "--state-dir",
      stateDirectory.path, "approve", userCode,
    ]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw Failure(description: "owner.py approve exited \(process.terminationStatus)")
    }
  }

  func revokeAll() throws {
    let (status, body) = try call(.post, "/admin/revoke-all", bearer: try secret("admin_token"))
    guard status == 200 else { throw Failure(description: "revoke-all: \(status) \(body)") }
  }

  private static var python: URL { TestPaths.repository.appendingPathComponent(".venv-refcloud/bin/python") }

  /// `setup.sh` is idempotent, but only run when the venv is missing: it may
  /// call apt-get and pip.
  private static func ensureVenv() throws {
    guard !FileManager.default.isExecutableFile(atPath: python.path) else { return }
    let setup = Process()
    setup.executableURL = TestPaths.repository.appendingPathComponent("Tests/refcloud/setup.sh")
    setup.standardInput = FileHandle.nullDevice
    setup.standardOutput = FileHandle.nullDevice
    setup.standardError = FileHandle.nullDevice
    try setup.run()
    setup.waitUntilExit()
    guard FileManager.default.isExecutableFile(atPath: python.path) else {
      throw Failure(description: "Tests/refcloud/setup.sh did not make \(python.path)")
    }
  }

  private static func stop(_ process: Process) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}
