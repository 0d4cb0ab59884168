import Foundation
import Testing

@testable import AgentCore

/// The state file is sourced by shell scripts (`. /run/camera-agent/state`):
/// whatever a server put in the user code or the verification URI, sourcing
/// it assigns the value and runs nothing (issue 13 item 10).
@Suite struct StateFileShellTests {
  /// A scratch folder with `cacanary` on a PATH of its own: any command
  /// substitution, `;` or `|` that runs it leaves a file behind.
  final class Scratch {
    let dir: String
    init() throws {
      dir = NSTemporaryDirectory() + "ca-statefile-\(UUID().uuidString)"
      try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
      let canary = dir + "/bin/cacanary"
      try "#!/bin/sh\ntouch \(dir)/RAN\n".write(toFile: canary, atomically: true, encoding: .utf8)
      chmod(canary, 0o755)
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }
    var ran: Bool { FileManager.default.fileExists(atPath: dir + "/RAN") }

    /// Sources each file with `shell` in its own subshell and returns
    /// `user_code` and `verification_uri` of each, in order.
    func source(_ files: [String], shell: String) throws -> [[String]] {
      let driver = dir + "/driver.sh"
      try """
      set -u
      for f in "$@"; do
        ( user_code=; verification_uri=; . "$f"; printf '%s\\0%s\\0' "$user_code" "$verification_uri" ) || exit 9
      done
      """.write(toFile: driver, atomically: true, encoding: .utf8)
      let process = Process()
      process.executableURL = URL(fileURLWithPath: shell)
      process.arguments = [driver] + files
      process.environment = ["PATH": dir + "/bin:/usr/bin:/bin"]
      let out = Pipe()
      process.standardOutput = out
      try process.run()
      let data = out.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "\(shell) failed to source a state file")
      let fields = data.split(separator: 0, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
      }
      var pairs: [[String]] = []
      var index = 0
      while index + 1 < fields.count {
        pairs.append([fields[index], fields[index + 1]])
        index += 2
      }
      return pairs
    }
  }

  static func pending(_ code: String, _ uri: String) -> PublishedState {
    var state = PublishedState(name: "activation_pending")
    state.userCode = code
    state.verificationURI = uri
    state.codeExpiresAt = 1_800_000_600_000
    return state
  }

  static let hostile = [
    "$(cacanary)", "`cacanary`", ";cacanary", "|cacanary", "a'$(cacanary)'b", "'", "''", "\\'",
    "x\\\"$(cacanary)\\\"", "&cacanary&", "${PATH:+$(cacanary)}", "~", "~root", "a b", "#", "*", "$((1+1))",
    "'\\''$(cacanary)'\\''", "\"", "%", "",
  ]

  /// Named hostile values and 600 random ones over every printable ASCII byte
  /// (what TokenSyntax.isVisibleASCII let through before), through sh (dash)
  /// and bash: each value comes back exactly, and the canary never ran. The
  /// hook's environment carries the same raw values.
  @Test func sourcingAStateFileRunsNothingAndYieldsTheValues() throws {
    let scratch = try Scratch()
    var rng = SystemRandomNumberGenerator()
    var cases: [[String]] = []
    for a in Self.hostile {
      for b in ["https://c.test/d?x=$(cacanary)", Self.hostile.randomElement(using: &rng)!] {
        cases.append([a, b])
      }
    }
    let alphabet = (0x20...0x7e).map { Character(Unicode.Scalar(UInt8($0))) }
    // Bias towards the bytes a shell cares about.
    let special = Array("$`;|&'\"\\(){}<>*?~#! =")
    for _ in 0..<600 {
      var pair: [String] = []
      for _ in 0..<2 {
        let length = Int.random(in: 0...24, using: &rng)
        pair.append(
          String(
            (0..<length).map { _ in
              Bool.random(using: &rng)
                ? special.randomElement(using: &rng)! : alphabet.randomElement(using: &rng)!
            }))
      }
      cases.append(pair)
    }
    var files: [String] = []
    for (index, pair) in cases.enumerated() {
      let path = scratch.dir + "/state-\(index)"
      let text = StateFile.render(Self.pending(pair[0], pair[1]))
      try StateFile(path: path).write(text)
      files.append(path)
      let environment = TransitionHook.environment(stateFileText: text)
      #expect(environment.contains("CAMERA_AGENT_USER_CODE=" + pair[0]))
      #expect(environment.contains("CAMERA_AGENT_VERIFICATION_URI=" + pair[1]))
    }
    for shell in ["/bin/sh", "/bin/bash"] {
      let got = try scratch.source(files, shell: shell)
      #expect(got.count == cases.count)
      for (want, have) in zip(cases, got) where want != have {
        Issue.record("\(shell): sourced \(have) for \(want)")
      }
    }
    #expect(!scratch.ran, "sourcing a state file ran a command")
  }

  /// The whole path from a hostile device authorization response: codes with
  /// shell syntax are refused at parse time; a verification URI may keep
  /// RFC 3986's `$ ( ) ; & '` and is quoted in the state file; backticks,
  /// `|` and braces are not URI characters and are refused.
  @Test func aHostileDeviceAuthorizationNeverExecutes() throws {
    func response(_ code: String, _ uri: String) -> [UInt8] {
      Array(
        #"{"device_code":"dc","user_code":"\#(code)","verification_uri":"\#(uri)","expires_in":600}"#.utf8)
    }
    for code in ["$(cacanary)", "`cacanary`", "AB;cacanary", "AB|cacanary", "AB CD", "AB'CD", "---", "AB_CD"]
    {
      #expect(throws: OAuthMessageError.self) {
        try DeviceAuthorization.parse(response(code, "https://c.test/d"))
      }
    }
    for uri in [
      "https://c.test/`cacanary`", "https://c.test/d|cacanary", "https://c.test/${IFS}",
      "https://c.test/\\\\",
    ] {
      #expect(throws: OAuthMessageError.self) { try DeviceAuthorization.parse(response("BCDF-GHJK", uri)) }
    }
    let scratch = try Scratch()
    var files: [String] = []
    var wanted: [[String]] = []
    let accepted = [
      "https://c.test/d?x=$(cacanary)", "https://c.test/d;cacanary", "https://c.test/d&cacanary&",
      "https://c.test/'$(cacanary)'", "https://c.test/device",
    ]
    for (index, uri) in accepted.enumerated() {
      let grant = try DeviceAuthorization.parse(response("wdjb-MJHT-7", uri))
      let path = scratch.dir + "/state-\(index)"
      try StateFile(path: path).write(StateFile.render(Self.pending(grant.userCode, grant.verificationURI)))
      files.append(path)
      wanted.append([grant.userCode, uri])
    }
    #expect(try scratch.source(files, shell: "/bin/sh") == wanted)
    #expect(!scratch.ran, "sourcing a state file ran a command")
    // A plain value stays bare, so `grep ^state=` style readers keep working.
    #expect(
      StateFile.render(Self.pending("BCDF-GHJK", "https://c.test:8443/device"))
        == "state=activation_pending\nuser_code=BCDF-GHJK\nverification_uri=https://c.test:8443/device\n"
        + "expires_at=1800000600\n")
  }

  /// RFC 8628 §6.1 alphabet, exhaustively over single bytes.
  @Test func userCodeAlphabet() {
    for byte in UInt8(0x01)...UInt8(0x7f) {
      let text = "AB" + String(Unicode.Scalar(byte)) + "CD"
      let letterOrDigit =
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
      #expect(TokenSyntax.isUserCode(text, maxLength: 32) == (letterOrDigit || byte == 0x2d), "byte \(byte)")
    }
    #expect(!TokenSyntax.isUserCode("", maxLength: 32))
    #expect(!TokenSyntax.isUserCode("-", maxLength: 32))
    #expect(!TokenSyntax.isUserCode(String(repeating: "B", count: 33), maxLength: 32))
  }

  /// 0640, and the group of a set-group-ID directory (the pairing UI's
  /// group, set up by the init script or the unit), never world-readable.
  @Test func stateFileIs0640InTheDirectorysGroup() throws {
    let scratch = try Scratch()
    let directory = scratch.dir + "/run"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    // nogroup (65534) stands in for the pairing UI's group; as root the test
    // can give the directory to it, otherwise the caller's own group is used.
    let group: gid_t = getuid() == 0 ? 65_534 : getgid()
    #expect(chown(directory, getuid(), group) == 0)
    #expect(chmod(directory, 0o2750) == 0)
    let path = directory + "/state"
    let file = StateFile(path: path)
    try file.write("state=a\n")
    _ = FileManager.default.createFile(atPath: path + ".tmp", contents: Data("stale".utf8))
    try file.write("state=b\n")
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "state=b\n")
    #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    var info = stat()
    #expect(stat(path, &info) == 0)
    #expect(info.st_mode & 0o7777 == 0o640)
    #expect(info.st_gid == group)
  }
}
