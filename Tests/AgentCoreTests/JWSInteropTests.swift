import AgentCore
import Foundation
import Testing

/// Cross-implementation check: DPoP proofs and client assertions made by the
/// agent are verified by Python's joserfc (the library the reference cloud
/// uses), and the proofs also by the reference cloud's own RFC 9449 checker,
/// `refcloud.dpop.validate_proof`. Independent code agreeing on signatures,
/// base64url, JSON and the RFC 7638 thumbprint is what the unit tests alone
/// cannot show.
@Suite struct JWSInteropTests {
  struct InteropFailure: Error, CustomStringConvertible {
    let description: String
  }

  /// The reference cloud's venv python, from `Tests/refcloud/setup.sh`
  /// (idempotent; it creates the venv only if it is missing). Failing here is
  /// a test failure, not a skip: the interop check must not silently vanish.
  static func referencePython(scratch: URL) throws -> String {
    let setup = TestPaths.repository.appendingPathComponent("Tests/refcloud/setup.sh").path
    guard FileManager.default.isExecutableFile(atPath: setup) else {
      throw InteropFailure(description: "\(setup) is missing or not executable")
    }
    let result = try AgentRun.run(executable: URL(fileURLWithPath: setup), [])
    let lines = result.stdout.split(separator: "\n")
    guard result.status == 0, let last = lines.last,
      FileManager.default.isExecutableFile(atPath: String(last))
    else {
      throw InteropFailure(
        description: """
          the reference venv with joserfc is not available: Tests/refcloud/setup.sh exited \(result.status).
          Run Tests/refcloud/setup.sh (needs python3-venv and network access to PyPI once).
          stderr: \(result.stderr)
          """)
    }
    return String(last)
  }

  /// The checker, written next to the cases for each run.
  static let checker = #"""
    import base64, hashlib, json, os, sys

    sys.path.insert(0, os.environ["REFCLOUD_PARENT"])
    from joserfc import jws, jwt
    from joserfc.jwk import ECKey
    from joserfc.jwt import JWTClaimsRegistry
    from refcloud import dpop

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    def b64decode(text):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    class FixedNonce:
        def __init__(self, value):
            self.value = value
        def is_valid(self, nonce):
            return nonce == self.value

    failures = []
    def check(condition, message):
        if not condition:
            failures.append(message)

    cases = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    for number, case in enumerate(cases):
        name = f"case {number} ({case['kind']})"
        token = case["jws"]
        try:
            if case["kind"] == "dpop":
                header = jws.extract_compact(token.encode("ascii")).headers()
                check(header.get("typ") == "dpop+jwt", f"{name}: typ {header.get('typ')}")
                check(header.get("alg") == "ES256", f"{name}: alg")
                check(sorted(header["jwk"]) == ["crv", "kty", "x", "y"], f"{name}: jwk members {sorted(header['jwk'])}")
                key = dpop.import_public_p256(header["jwk"])
                claims = json.loads(jws.deserialize_compact(token, key, algorithms=["ES256"]).payload)
                check(claims["htm"] == case["htm"], f"{name}: htm")
                check(claims["htu"] == case["htu"], f"{name}: htu {claims['htu']}")
                check(claims["iat"] == case["iat"], f"{name}: iat")
                check(len(b64decode(claims["jti"])) >= 12, f"{name}: jti shorter than 96 bits")
                check(claims.get("nonce") == case.get("nonce"), f"{name}: nonce")
                if "access_token" in case:
                    ath = b64(hashlib.sha256(case["access_token"].encode("ascii")).digest())
                    check(claims.get("ath") == ath, f"{name}: ath")
                else:
                    check("ath" not in claims, f"{name}: unexpected ath")
                check(key.thumbprint() == case["thumbprint"], f"{name}: thumbprint {key.thumbprint()}")
                if case.get("nonce"):
                    headers = {"DPoP": token}
                    jkt = dpop.validate_proof(
                        headers, case["htm"], [case["request_url"]], nonces=FixedNonce(case["nonce"]),
                        replay=dpop.ReplayCache(), skew=120, access_token=case.get("access_token"))
                    check(jkt == case["thumbprint"], f"{name}: refcloud jkt")
            else:
                key = ECKey.import_key(case["jwk"])
                token_obj = jwt.decode(token, key, algorithms=["ES256"])
                header, claims = token_obj.header, token_obj.claims
                check(header.get("kid") == key.thumbprint(), f"{name}: kid {header.get('kid')}")
                check(header.get("typ") == case.get("typ"), f"{name}: typ")
                check(sorted(claims) == ["aud", "exp", "iat", "iss", "jti", "sub"], f"{name}: claims {sorted(claims)}")
                registry = JWTClaimsRegistry(
                    now=case["iat"] + 1,
                    iss={"essential": True, "value": case["client_id"]},
                    sub={"essential": True, "value": case["client_id"]},
                    aud={"essential": True, "value": case["aud"]},
                    jti={"essential": True})
                registry.validate(claims)
                check(claims["exp"] == case["iat"] + case["lifetime"], f"{name}: exp")
                check(len(b64decode(claims["jti"])) >= 12, f"{name}: jti shorter than 96 bits")
        except Exception as error:
            failures.append(f"{name}: {type(error).__name__}: {error}")

    print(f"checked {len(cases)} tokens, {len(failures)} failures")
    for failure in failures:
        print(failure, file=sys.stderr)
    sys.exit(1 if failures else 0)
    """#

  /// A P-256 key whose x or y starts with a zero byte, so the fixed 32-byte
  /// coordinate encoding (RFC 7518 §6.2.1.2) is exercised, not just typical keys.
  static func keyWithLeadingZeroCoordinate() throws -> P256PrivateKey {
    for _ in 0..<8192 {
      let key = try P256PrivateKey.generate()
      let publicKey = try key.publicKey()
      if publicKey.x[0] == 0 || publicKey.y[0] == 0 { return key }
    }
    throw InteropFailure(description: "no key with a leading zero coordinate in 8192 tries")
  }

  @Test func joserfcAndRefcloudAcceptTheAgentsTokens() throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "jws-interop-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let python = try Self.referencePython(scratch: scratch)

    var random = SystemRandom()
    let now = Int64(Date().timeIntervalSince1970)
    let keys = [
      try P256PrivateKey.generate(), try Self.keyWithLeadingZeroCoordinate(), try RFC7515Key.privateKey(),
    ]
    // JSON Lines: one writer per case (JSONWriter has no arrays).
    var lines: [UInt8] = []
    for (index, key) in keys.enumerated() {
      let thumbprint = try PublicJWK(try key.publicKey()).thumbprint()
      let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU\(index)"
      let nonce = "nonce-\(index)_eyJ7S.zG~"
      let proofs: [(DPoPProof, String, String)] = [
        (
          DPoPProof(
            method: .post, url: "https://127.0.0.1:8443/oauth/token?x=1#f", issuedAt: now, nonce: nonce),
          "https://127.0.0.1:8443/oauth/token", "https://127.0.0.1:8443/oauth/token"
        ),
        (
          DPoPProof(
            method: .post, url: "https://127.0.0.1:8443/v1/devices/cam-\(index)/report", issuedAt: now,
            nonce: nonce, accessToken: SecretBytes(Array(token.utf8))),
          "https://127.0.0.1:8443/v1/devices/cam-\(index)/report",
          "https://127.0.0.1:8443/v1/devices/cam-\(index)/report"
        ),
        (
          DPoPProof(method: .get, url: "https://as.example.com/x", issuedAt: 0),
          "https://as.example.com/x", "https://as.example.com/x"
        ),
      ]
      for (proof, htu, requestURL) in proofs {
        var cases = JSONWriter()
        cases.beginObject()
        cases.member("kind", "dpop")
        cases.member("jws", try proof.signed(with: key, random: &random))
        cases.member("htm", proof.method.token)
        cases.member("htu", htu)
        cases.member("request_url", requestURL)
        cases.member("iat", proof.issuedAt)
        if let nonce = proof.nonce { cases.member("nonce", nonce) }
        if proof.accessToken != nil { cases.member("access_token", token) }
        cases.member("thumbprint", thumbprint)
        cases.endObject()
        lines += cases.bytes + [0x0a]
      }
      for (lifetime, includesType) in [(Int64(60), true), (Int64(300), false)] {
        let assertion = ClientAssertion(
          clientID: "cam-\(index)", audience: "https://127.0.0.1:8443", issuedAt: now, lifetime: lifetime,
          includesType: includesType)
        var cases = JSONWriter()
        cases.beginObject()
        cases.member("kind", "assertion")
        cases.member("jws", try assertion.signed(with: key, random: &random))
        cases.key("jwk")
        PublicJWK(try key.publicKey()).writeObject(into: &cases)
        cases.member("client_id", assertion.clientID)
        cases.member("aud", assertion.audience)
        cases.member("iat", assertion.issuedAt)
        cases.member("lifetime", lifetime)
        if includesType { cases.member("typ", "JWT") }
        cases.endObject()
        lines += cases.bytes + [0x0a]
      }
    }

    let casesURL = scratch.appendingPathComponent("cases.jsonl")
    let checkerURL = scratch.appendingPathComponent("check.py")
    try Data(lines).write(to: casesURL)
    try Data(Self.checker.utf8).write(to: checkerURL)
    let result = try AgentRun.run(
      executable: URL(fileURLWithPath: "/usr/bin/env"),
      [
        "REFCLOUD_PARENT=" + TestPaths.repository.appendingPathComponent("Tests").path, python,
        checkerURL.path,
        casesURL.path,
      ])
    let output = result.stdout + result.stderr
    #expect(result.status == 0, "joserfc/refcloud refused the agent's tokens:\n\(output)")
    #expect(result.stdout.hasPrefix("checked 15 tokens, 0 failures"), "\(output)")

    // The checker is not vacuous: one flipped signature byte is reported.
    var tampered = String(decoding: lines, as: UTF8.self).split(separator: "\n").map(String.init)
    let victim = tampered[0]
    let signatureStart = victim.range(of: "\",\"htm\"")!.lowerBound
    // Inside the signature, clear of the last character's padding bits.
    let flipped = victim.index(signatureStart, offsetBy: -10)
    let replacement: Character = victim[flipped] == "A" ? "B" : "A"
    tampered[0] =
      String(victim[..<flipped]) + String(replacement) + String(victim[victim.index(after: flipped)...])
    try Data((tampered.joined(separator: "\n") + "\n").utf8).write(to: casesURL)
    let refused = try AgentRun.run(
      executable: URL(fileURLWithPath: "/usr/bin/env"),
      [
        "REFCLOUD_PARENT=" + TestPaths.repository.appendingPathComponent("Tests").path, python,
        checkerURL.path,
        casesURL.path,
      ])
    #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
    #expect(refused.stdout.hasPrefix("checked 15 tokens, 1 failures"), "\(refused.stdout)\(refused.stderr)")
    #expect(refused.stderr.hasPrefix("case 0 (dpop): BadSignatureError"), "\(refused.stderr)")
  }
}
