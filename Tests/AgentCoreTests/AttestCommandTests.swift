import AgentCore
import Foundation
import Testing

/// `camera-agent attest`: option parsing, and the real hosted binary signing
/// with the identity key of a file vault.
@Suite struct AttestCommandTests {
  static let nonce = "n0nce-ABCDEFGHIJKLMNOP_qrstuv"
  static let audience = "https://127.0.0.1:8443/factory/devices/cam-0001/verify"

  @Test func parsesNonceAndAudience() throws {
    let parsed = try Invocation.parse(["attest", "--nonce", Self.nonce, "--audience", Self.audience])
    #expect(parsed.command == .attest(nonce: Self.nonce, audience: Self.audience))
    let reordered = try Invocation.parse(["attest", "--audience", Self.audience, "--nonce", Self.nonce])
    #expect(reordered.command == .attest(nonce: Self.nonce, audience: Self.audience))
  }

  /// `iat` is the board's own clock: a station cannot choose it any more.
  @Test func issuedAtIsNotAccepted() {
    #expect {
      try Invocation.parse([
        "attest", "--nonce", Self.nonce, "--audience", Self.audience, "--issued-at", "1800000000",
      ])
    } throws: { error in
      (error as? Invocation.UsageError)?.message.contains("iat is the board's own clock") == true
    }
  }

  @Test func refusesBadNonceAudienceAndOptions() {
    let good = ["--nonce", Self.nonce, "--audience", Self.audience]
    let cases: [[String]] = [
      [],
      ["--nonce", Self.nonce],
      ["--audience", Self.audience],
      ["--nonce", "abcdefghijklmno", "--audience", Self.audience],
      ["--nonce", String(repeating: "a", count: 129), "--audience", Self.audience],
      ["--nonce", "abcdefghijklmnop=", "--audience", Self.audience],
      ["--nonce", "abcdefghijklmnop/", "--audience", Self.audience],
      ["--nonce", "abcdefgh ijklmnop", "--audience", Self.audience],
      ["--nonce", "abcdefghijklmnop\n", "--audience", Self.audience],
      ["--nonce", Self.nonce, "--audience", "ftp://cloud.example/verify"],
      ["--nonce", Self.nonce, "--audience", "cloud.example/verify"],
      ["--nonce", Self.nonce, "--audience", "https://user@cloud.example/verify"],
      ["--nonce", Self.nonce, "--audience", "https://cloud.example/verify#x"],
      ["--nonce", Self.nonce, "--audience", "https://cloud.example/verify?x=1"],
      ["--nonce", Self.nonce, "--audience", "https:///verify"],
      good + ["--issued-at", "1800000000"],
      good + ["--issued-at"],
      good + ["--force"],
      good + ["extra"],
    ]
    for rest in cases {
      #expect(throws: Invocation.UsageError.self, "\(rest)") { try Invocation.parse(["attest"] + rest) }
    }
    // Exactly 16 and 128 characters are accepted.
    for length in [16, 128] {
      let nonce = String(repeating: "Z", count: length)
      #expect(throws: Never.self) {
        try Invocation.parse(["attest", "--nonce", nonce, "--audience", Self.audience])
      }
    }
  }

  @Test func signsAnRFC7523AssertionWithTheIdentityKey() throws {
    let board = try Board()
    let provisioned = try board.agent(["provision", "--device-id", "cam-0001"])
    #expect(provisioned.status == 0, "\(provisioned.stderr)")
    let jwk = try JSONReader.parseObject(Array(provisioned.stdout.utf8)).requiredObject("jwk")
    let publicKey = try P256PublicKey(
      x: try #require(Base64URL.decode(try jwk.requiredString("x"))),
      y: try #require(Base64URL.decode(try jwk.requiredString("y"))))

    let before = Int64(Date().timeIntervalSince1970)
    let run = try board.agent(["attest", "--nonce", Self.nonce, "--audience", Self.audience])
    let after = Int64(Date().timeIntervalSince1970)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.hasSuffix("\n"))
    #expect(run.stdout.filter { $0 == "\n" }.count == 1)
    let compact = String(run.stdout.dropLast())
    let decoded = try TestJWS.verify(compact, key: publicKey)
    #expect(try decoded.header.requiredString("alg") == "ES256")
    #expect(try decoded.header.requiredString("typ") == "JWT")
    #expect(try decoded.header.requiredString("kid") == (try PublicJWK(publicKey).thumbprint()))
    #expect(decoded.claims.members.map(\.key) == ["iss", "sub", "aud", "jti", "iat", "exp"])
    #expect(try decoded.claims.requiredString("iss") == "cam-0001")
    #expect(try decoded.claims.requiredString("sub") == "cam-0001")
    #expect(try decoded.claims.requiredString("aud") == Self.audience)
    #expect(try decoded.claims.requiredString("jti") == Self.nonce)
    let iat = try decoded.claims.requiredInt("iat")
    #expect(iat >= before && iat <= after)
    #expect(try decoded.claims.requiredInt("exp") == iat + 300)

    // Another key (a re-keyed board, a swapped board) does not verify it.
    let otherKey = try P256PrivateKey.generate().publicKey()
    #expect(throws: (any Error).self) { try TestJWS.verify(compact, key: otherKey) }

    // status gives the same public key, for a board provisioned earlier.
    let status = try board.agent(["status"])
    #expect(status.stdout.contains("\nidentity_jwk=\(try PublicJWK(publicKey).json)\n"))
  }

  /// A station that names the issuer or a token endpoint as the audience
  /// gets nothing: such an assertion would log in as this device.
  @Test func onlyThisBoardsFactoryVerifyURLIsSigned() throws {
    let board = try Board()
    #expect(try board.agent(["provision", "--device-id", "cam-0001"]).status == 0)
    let server = "server = https://127.0.0.1:8443\n"
    let refused = [
      "https://127.0.0.1:8443", "https://127.0.0.1:8443/", "HTTPS://127.0.0.1:8443//",
      "https://127.0.0.1:8443/oauth/token", "https://token.example/oauth2/token",
      "https://127.0.0.1:8443/factory/devices/cam-0002/verify",
      "https://127.0.0.1:8443/factory/devices/cam-0001/verify/token",
      "https://127.0.0.1:8443/factory/devices/xcam-0001/verify",
    ]
    for audience in refused {
      let run = try board.agent(
        ["attest", "--nonce", Self.nonce, "--audience", audience], extraConfig: server)
      #expect(run.status == 65, "\(audience)")
      #expect(run.stdout.isEmpty, "\(audience)")
      #expect(run.stderr.contains("camera-agent: attest: the audience"), "\(audience): \(run.stderr)")
      #expect(run.stderr.contains("refused"), "\(audience)")
    }
    let issuer = try board.agent(
      ["attest", "--nonce", Self.nonce, "--audience", "https://127.0.0.1:8443/"], extraConfig: server)
    #expect(issuer.stderr.contains("the audience is the issuer"))
    // Even a verify-shaped URL is refused when it is the configured issuer.
    let odd = try board.agent(
      ["attest", "--nonce", Self.nonce, "--audience", Self.audience],
      extraConfig: "server = \(Self.audience)\n")
    #expect(odd.status == 65)
    let good = try board.agent(
      ["attest", "--nonce", Self.nonce, "--audience", Self.audience], extraConfig: server)
    #expect(good.status == 0, "\(good.stderr)")
  }

  /// Over random device ids, hosts and spellings: the verify URL of the
  /// board's own id is signed for, every other id's and every spelling of
  /// the issuer is not.
  @Test func audienceRuleOverRandomInputs() {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    func word(_ range: ClosedRange<Int>) -> String {
      String(
        (0..<Int.random(in: range, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
      )
    }
    for _ in 0..<500 {
      let id = "c" + word(2...20)
      let host = "https://" + word(1...12).lowercased().replacingOccurrences(of: "_", with: "") + "h.example"
      let prefix = Bool.random(using: &generator) ? "" : "/" + word(1...8)
      let own = host + prefix + "/factory/devices/" + id + "/verify"
      #expect(AttestAudience.refusal(own, deviceID: id, issuer: host) == nil, "\(own)")
      let other = "c" + word(2...20)
      if other != id {
        let theirs = host + prefix + "/factory/devices/" + other + "/verify"
        #expect(AttestAudience.refusal(theirs, deviceID: id, issuer: host) != nil, "\(theirs)")
      }
      var spelled = Bool.random(using: &generator) ? host.uppercased() : host
      spelled += String(repeating: "/", count: Int.random(in: 0...3, using: &generator))
      #expect(AttestAudience.refusal(spelled, deviceID: id, issuer: host) != nil, "\(spelled)")
      #expect(AttestAudience.refusal(host + ":443", deviceID: id, issuer: host) != nil)
      #expect(AttestAudience.refusal(host + "/oauth/token", deviceID: id, issuer: host) != nil)
    }
  }

  /// `status --json` (schema 1, the factory station's input) and the
  /// `key=value` form carry the same fields, in the vault's words.
  @Test func statusJSONSchema() throws {
    let board = try Board()
    let empty = try board.agent(["status", "--json"])
    #expect(empty.status == 0)
    let emptyDoc = try #require(
      try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [String: Any])
    #expect(emptyDoc["schema"] as? Int == 1)
    #expect(emptyDoc["vault"] as? String == "unprovisioned")
    #expect(Set(emptyDoc.keys) == ["schema", "vault", "vault_path", "key_source", "skipped"])
    #expect(try board.agent(["status"]).stdout.contains("vault=unprovisioned\n"))

    let provisioned = try board.agent(["provision", "--device-id", "cam-json-1"])
    #expect(provisioned.status == 0)
    let printed = try #require(
      try JSONSerialization.jsonObject(with: Data(provisioned.stdout.utf8)) as? [String: Any])
    let run = try board.agent(["status", "--json"])
    #expect(run.status == 0)
    #expect(run.stdout.split(separator: "\n").count == 1)
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    #expect(doc["vault"] as? String == "provisioned")
    #expect(doc["device_id"] as? String == "cam-json-1")
    #expect(doc["generation"] as? Int == 1)
    #expect(doc["identity_key"] as? String == "present")
    #expect(doc["identity_thumbprint"] as? String == printed["thumbprint"] as? String)
    #expect((doc["identity_jwk"] as? [String: String]) == (printed["jwk"] as? [String: String]))
    for key in ["dpop_key", "access_token", "refresh_token"] { #expect(doc[key] as? String == "absent") }
    #expect((doc["skipped"] as? [String]) == [])
    // The same fields as key=value lines, and never a session word.
    let lines = try board.agent(["status"]).stdout.split(separator: "\n").map(String.init)
    let keys = lines.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) }
    #expect(Set(keys) == Set(doc.keys).subtracting(["schema", "skipped"]))
    #expect(!lines.contains { $0.hasPrefix("state=") })
    #expect(try board.agent(["status", "--yaml"]).status == 64)
  }

  /// `provision` run as root (the factory console) leaves the vault to the
  /// service user (`vault_owner`), so a `User=` service can read it; a
  /// symlink or hard link planted in the vault directory is refused and its
  /// target left alone (issue 13 item 3).
  @Test func rootRunProvisionGivesTheVaultToTheServiceUser() throws {
    #expect(getuid() == 0, "this test runs as root, as the factory console does")
    let board = try Board()
    let owner = "vault_owner = nobody\n"
    #expect(try board.agent(["provision", "--device-id", "cam-own-1"], extraConfig: owner).status == 0)
    let vault = board.directory.appendingPathComponent("vault").path
    var info = stat()
    #expect(stat(vault, &info) == 0 && info.st_uid == 65_534)
    #expect(stat(vault + "/slot0.rec", &info) == 0 && info.st_uid == 65_534 && info.st_mode & 0o777 == 0o600)
    // The service user plants a link to a root file as the other slot.
    let victim = board.directory.appendingPathComponent("root-secret").path
    _ = FileManager.default.createFile(
      atPath: victim, contents: Data("root only".utf8), attributes: [.posixPermissions: 0o600])
    for plant in [{ symlink(victim, vault + "/slot1.rec") }, { link(victim, vault + "/slot1.rec") }] {
      unlink(vault + "/slot1.rec")
      #expect(plant() == 0)
      let run = try board.agent(["status"], extraConfig: owner)
      #expect(run.stderr.contains("vault_owner"), "\(run.stderr)")
      #expect(stat(victim, &info) == 0 && info.st_uid == 0 && info.st_mode & 0o777 == 0o600)
    }
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "root only")
    let unknown = try board.agent(["status"], extraConfig: "vault_owner = no-such-user-here\n")
    #expect(unknown.status == 1 && unknown.stderr.contains("no user no-such-user-here"))
  }

  @Test func unprovisionedBoardAndPlainHTTPAreRefused() throws {
    let board = try Board()
    let unprovisioned = try board.agent(["attest", "--nonce", Self.nonce, "--audience", Self.audience])
    #expect(unprovisioned.status == 1)
    #expect(unprovisioned.stdout.isEmpty)
    #expect(unprovisioned.stderr.contains("not provisioned"))

    #expect(try board.agent(["provision", "--device-id", "cam-0002"]).status == 0)
    let plain = "http://127.0.0.1:8080/factory/devices/cam-0002/verify"
    let refused = try board.agent(["attest", "--nonce", Self.nonce, "--audience", plain])
    #expect(refused.status == 64)
    #expect(refused.stdout.isEmpty)
    #expect(refused.stderr.contains("allow_insecure_http"))
    let allowed = try board.agent(
      ["attest", "--nonce", Self.nonce, "--audience", plain], extraConfig: "allow_insecure_http = yes\n")
    #expect(allowed.status == 0, "\(allowed.stderr)")

    let badNonce = try board.agent(["attest", "--nonce", "too-short", "--audience", Self.audience])
    #expect(badNonce.status == 64)
    #expect(badNonce.stderr.contains("invalid nonce"))
    #expect(badNonce.stdout.isEmpty)
  }

  @Test func missingKeySourceIsAConfigurationError() throws {
    let board = try Board()
    let run = try board.agent(
      ["attest", "--nonce", Self.nonce, "--audience", Self.audience], configOverride: "vault_backend = file\n"
    )
    #expect(run.status == 78)
  }

  /// A board on the host: a file vault and a random 32-byte key file.
  final class Board {
    let directory: URL

    init() throws {
      directory = FileManager.default.temporaryDirectory.appendingPathComponent("attest-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      var key = [UInt8](repeating: 0, count: 32)
      for index in key.indices { key[index] = UInt8.random(in: 0...255) }
      let keyPath = directory.appendingPathComponent("huk").path
      _ = FileManager.default.createFile(
        atPath: keyPath, contents: Data(key), attributes: [.posixPermissions: 0o600])
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func agent(_ arguments: [String], extraConfig: String = "", configOverride: String? = nil) throws
      -> AgentRun
    {
      let config = directory.appendingPathComponent("agent-\(UUID().uuidString).conf")
      let text =
        configOverride
        ?? "vault_backend = file\nvault_path = \(directory.path)/vault\n"
        + "key_source = file:\(directory.path)/huk\n" + extraConfig
      try text.write(to: config, atomically: true, encoding: .utf8)
      return try AgentRun.run(["--config", config.path] + arguments)
    }
  }
}
