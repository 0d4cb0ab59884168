import Testing

@testable import AgentCore

/// One test per row of `LogMask.rules`: each row's shapes are masked (the
/// secret part is gone from the line), and ordinary lines near the shape
/// are left alone. Issue 13 item 13 named the shapes that used to pass:
/// runs under 20 characters, base64 split by '/', single-class runs,
/// `key: value` and percent-encoded values.
@Suite struct LogMaskRuleTests {
  struct Example {
    /// Lines and the secret in each that must not survive.
    let masked: [(line: String, secret: String)]
    /// Lines that must come out unchanged.
    let kept: [String]
  }

  static let examples: [String: Example] = [
    "scheme": Example(
      masked: [
        ("Authorization: DPoP eyJ0eXAi.e30.c2ln", "eyJ0eXAi"), ("header bearer x1", "x1"),
        ("x-Bearer abc123", "abc123"), ("Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
      ],
      kept: ["token type is DPoP", "basically fine", "Bearer"]),
    "assignment": Example(
      masked: [
        ("sent refresh_token=short&x=1", "short"), (#"{"access_token": "t0k", "n":1}"#, "t0k"),
        ("wifi.psk=hunter2", "hunter2"), ("client.secret=topsecret", "topsecret"),
        ("x-api.key=Abc123", "Abc123"),
        ("password: hunter", "hunter"), ("x-api-key: s3cr3t", "s3cr3t"),
        ("client_secret : opensesame", "opensesame"),
        ("psk:'abc'", "abc"), ("GET /cb?code%3Dsplx%26state=1", "splx"), ("refresh_token%3Aabc", "abc"),
        ("body token%22%3A%22zz9", "zz9"), ("a~token=t1 b+code=c1", "t1"), ("a~token=t1 b+code=c1", "c1"),
        // A form-encoded secret that begins with an escaped delimiter is a
        // value, not an empty one (it used to leak whole).
        ("POST psk=%3Bk8Qz&ssid=x", "k8Qz"), ("psk=%2Coo", "oo"), ("passphrase=%20hunter", "hunter"),
        ("password=%26pw%26rest", "pw"),
      ],
      kept: [
        "session key: generation failed", "exit code: 3", "token poll: HTTP 503 (temporarily_unavailable)",
        "identity key: not a P-256 private key", "tokens=5",
      ]),
    "long-mixed-run": Example(
      masked: [
        ("got Xk3Jq9_Lm2Vb7Rt5Wz8Np4Hs6Df1Ga0", "Xk3Jq9_Lm2Vb7Rt5Wz8Np4Hs6Df1Ga0"),
        ("jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjYW0ifQ.MEUCIQD3x9", "eyJhbGciOiJFUzI1NiJ9"),
        ("hex 0123456789abcdef0123456789abcdef", "0123456789abcdef"),
      ],
      kept: ["state activation_pending -> active", "firmware 4.2.1-rc1+build.7"]),
    "long-single-class": Example(
      masked: [
        ("opaque abcdefghijklmnopqrstuvwxyzab", "abcdefghijklmnopqrstuvwxyzab"),
        ("otp 123456789012345678901234", "123456789012345678901234"),
        ("code-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
      ],
      kept: ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "at 1764614400"]),
    "medium-mixed": Example(
      masked: [
        ("key id deadbeef01234567", "deadbeef01234567"), ("ref QWERTYUIOP123456", "QWERTYUIOP123456"),
      ],
      kept: ["POST /v1/devices/cam-hs-0001/report", "2026-12-01T20:16:24Z"]),
    "short-three-class": Example(
      masked: [("device secret a8Kd93jLq0", "a8Kd93jLq0"), ("nonce Zq7xW2pL9k", "Zq7xW2pL9k")],
      kept: ["approve code WDJB-MJHT", "HTTP/1.1 401 Unauthorized", "OpenSSL 3.0.15"]),
    "slashed-base64": Example(
      masked: [
        ("blob Ab3d/Ef9h+Ij2l/Mn5pQr8t/Uv1x==", "Ab3d/Ef9h"),
        ("sig MEUCIQ/k9Lz+AbC/7xY2w/Qp4Rs", "k9Lz"),
      ],
      kept: [
        "GET https://cloud.example/.well-known/oauth-authorization-server",
        "waiting for the owner at https://127.0.0.1:4443/device",
        "reading Sources/AgentCore/Vault/VaultRecord.swift",
      ]),
  ]

  @Test(arguments: LogMask.rules.map(\.name))
  func row(_ name: String) throws {
    let example = try #require(Self.examples[name], "rule \(name) has no examples")
    #expect(!example.masked.isEmpty && !example.kept.isEmpty)
    for (line, secret) in example.masked {
      let out = LogMask.apply(line)
      #expect(!out.contains(secret), "\(name): '\(line)' -> '\(out)'")
      #expect(out.contains("[masked]"), "\(name): '\(line)' -> '\(out)'")
    }
    for line in example.kept {
      #expect(LogMask.apply(line) == line, "\(name) masked an ordinary line")
    }
  }

  @Test func everyExampleNamesARow() {
    let names = Set(LogMask.rules.map(\.name))
    #expect(names.count == LogMask.rules.count)
    #expect(Set(Self.examples.keys) == names)
  }

  /// Over random lines: masking never lengthens an unmasked run past the
  /// rule, and applying it twice changes nothing more.
  @Test func idempotentOverRandomLines() {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("aZ09=-._~+/%3D: \"'&,;token psk key Bearer ".utf8)
    for _ in 0..<2_000 {
      let count = Int.random(in: 0...200, using: &generator)
      let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
      let once = LogMask.apply(String(decoding: bytes, as: UTF8.self))
      #expect(LogMask.apply(once) == once, "\(once)")
    }
  }
}
