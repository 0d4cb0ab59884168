import AgentCore
import Foundation
import Testing

/// The identity key inside a TPM 2.0 through OpenSSL 3's tpm2-openssl
/// provider, against a real swtpm (Tests/tpm/setup.sh installs both).
/// Serialized: each test starts its own swtpm, and a TPM without a resource
/// manager has only three object slots.
@Suite(.serialized) struct TPMKeyTests {
  /// The DER of OID 2.23.133.10.1.3 (id-loadablekey) that opens a TSS2 PRIVATE KEY.
  static let loadableKeyOID: [UInt8] = [0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03]

  @Test func keyMadeInTPMSignsAndVerifiesThroughSoftwarePath() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      let key = try P256PrivateKey.generate(in: element)
      #expect(key.isInElement)
      let published = try key.publicKey()
      // The public half as the cloud gets it: a JWK, rebuilt into a software key.
      let jwk = PublicJWK(published)
      let cloudSide = try P256PublicKey(x: jwk.x, y: jwk.y)
      #expect(try jwk.thumbprint() == PublicJWK(cloudSide).thumbprint())
      for index in 0..<5 {
        let message = Array("assertion \(index)".utf8)
        let signature = try key.signES256(message)
        #expect(signature.count == 64)
        try cloudSide.verifyES256(signature: signature, message: message)
        #expect(throws: CryptoError.invalidSignature) {
          try cloudSide.verifyES256(signature: signature, message: message + [0])
        }
      }
      // ECDSA is randomised: two signatures of one message differ, both verify.
      let message = Array("same".utf8)
      let first = try key.signES256(message)
      let second = try key.signES256(message)
      #expect(first != second)
      try cloudSide.verifyES256(signature: second, message: message)
    }
  }

  /// A client assertion signed by the TPM key verifies with the public JWK
  /// printed at provisioning (rebuilt as the cloud would), and its `kid` is
  /// that JWK's thumbprint: the JOSE layer needs no change for element keys.
  @Test func clientAssertionSignedInTPMVerifiesWithPublishedJWK() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      let key = try P256PrivateKey.generate(in: element)
      let published = PublicJWK(try key.publicKey())
      var random = ConstantRandom(byte: 0x11)
      let compact = try ClientAssertion(
        clientID: "cam-tpm", audience: "https://as.example.com/token", issuedAt: 1_795_000_000
      ).signed(with: key, random: &random)
      let decoded = try TestJWS.verify(
        compact, key: try P256PublicKey(x: published.x, y: published.y))
      #expect(try decoded.header.requiredString("kid") == published.thumbprint())
      #expect(try decoded.claims.requiredString("iss") == "cam-tpm")
    }
  }

  @Test func exportIsRefusedForTPMKey() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      let key = try P256PrivateKey.generate(in: element)
      #expect(throws: CryptoError.notExportable) { _ = try key.derRepresentation() }
      // A software key still exports, and has no element reference.
      let software = try P256PrivateKey.generate()
      #expect(!software.isInElement)
      #expect(try software.derRepresentation().count > 100)
      #expect(throws: CryptoError.self) { _ = try software.reference() }
    }
  }

  /// A clean reboot (TPM shutdown, swtpm stopped) and a power cut (swtpm
  /// killed): either way the key's reference loads again on the same state.
  @Test(arguments: [false, true])
  func referenceReloadsAfterTPMRestartAndSignsWithSamePublicKey(powerCut: Bool) throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      var stored: [UInt8] = []
      var publicX: [UInt8] = []
      var publicY: [UInt8] = []
      do {
        let element = try KeyElement.tpm2(tcti: tpm.tcti)
        let key = try P256PrivateKey.generate(in: element)
        stored = try key.reference().serialized()
        let published = try key.publicKey()
        publicX = published.x
        publicY = published.y
      }  // key and element gone: the provider's connection is closed
      let before = tpm.pid
      if powerCut {
        tpm.cut()
        try tpm.start()
      } else {
        try tpm.restart()
      }
      #expect(tpm.pid != before && tpm.pid != 0)
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      let reloaded = try P256PrivateKey.load(KeyReference(serialized: stored), in: element)
      #expect(reloaded.isInElement)
      let publicAfter = try reloaded.publicKey()
      #expect(publicAfter.x == publicX)
      #expect(publicAfter.y == publicY)
      let message = Array("after reboot".utf8)
      try P256PublicKey(x: publicX, y: publicY)
        .verifyES256(signature: try reloaded.signES256(message), message: message)
      #expect(throws: CryptoError.notExportable) { _ = try reloaded.derRepresentation() }
    }
  }

  /// The private scalar cannot be known, so check what can be: the blob is a
  /// TSS2 key (public area in clear, private area wrapped), it loads neither
  /// as a software key nor through the default provider alone, and it does
  /// not load in another TPM (a different storage primary key).
  @Test func referenceIsBoundToItsTPMAndIsNoSoftwareKey() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      var blob: [UInt8] = []
      var publicX: [UInt8] = []
      do {
        let element = try KeyElement.tpm2(tcti: tpm.tcti)
        let key = try P256PrivateKey.generate(in: element)
        guard case .wrapped(let provider, let bytes) = try key.reference() else {
          Issue.record("expected a wrapped reference")
          return
        }
        #expect(provider == "tpm2")
        blob = bytes
        publicX = try key.publicKey().x
      }
      #expect(blob.count > 100 && blob.count < 400)
      #expect(TPMKeyTests.contains(blob, TPMKeyTests.loadableKeyOID))
      #expect(TPMKeyTests.contains(blob, publicX), "the public area is in the blob")
      // Not an RFC 5915 / PKCS#8 software key.
      #expect(throws: CryptoError.self) { _ = try P256PrivateKey.fromDER(SecretBytes(blob)) }
      // Not loadable with the default provider only.
      let softwareOnly = try KeyElement.open(provider: "default")
      #expect(throws: CryptoError.self) {
        _ = try P256PrivateKey.load(.wrapped(provider: "default", bytes: blob), in: softwareOnly)
      }
      // Not loadable in another TPM.
      let other = try SwtpmProviderFixture()
      try other.whileRunning {
        let otherElement = try KeyElement.tpm2(tcti: other.tcti)
        #expect(throws: CryptoError.self) {
          _ = try P256PrivateKey.load(.wrapped(provider: "tpm2", bytes: blob), in: otherElement)
        }
      }
      // And it still loads in its own TPM (so the failures above are about the blob's binding).
      let ownElement = try KeyElement.tpm2(tcti: tpm.tcti)
      #expect(
        try P256PrivateKey.load(.wrapped(provider: "tpm2", bytes: blob), in: ownElement)
          .publicKey().x == publicX)
    }
  }

  @Test func garbageAndTruncatedReferencesThrow() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      var blob: [UInt8] = []
      do {
        let key = try P256PrivateKey.generate(in: element)
        guard case .wrapped(_, let bytes) = try key.reference() else {
          Issue.record("expected a wrapped reference")
          return
        }
        blob = bytes
      }
      func expectRefused(_ bytes: [UInt8], _ comment: Comment) {
        #expect(throws: CryptoError.self, comment) {
          _ = try P256PrivateKey.load(.wrapped(provider: "tpm2", bytes: bytes), in: element)
        }
      }
      expectRefused([], "empty")
      expectRefused([UInt8](repeating: 0, count: 64), "zeroes")
      expectRefused((0..<300).map { _ in UInt8.random(in: 0...255) }, "random")
      expectRefused([UInt8](repeating: 0x30, count: KeyReference.maximumLength + 1), "too long")
      for length in 1..<blob.count { expectRefused(Array(blob[0..<length]), "truncated to \(length)") }
      expectRefused(blob + [0], "trailing byte")
      // A flipped bit in the wrapped private area: the TPM's integrity check refuses it.
      var flipped = blob
      flipped[flipped.count - 10] ^= 0x01
      expectRefused(flipped, "flipped bit in the private area")
      // A reference for another provider, and a store URI that names nothing.
      #expect(throws: CryptoError.self) {
        _ = try P256PrivateKey.load(.wrapped(provider: "pkcs11", bytes: blob), in: element)
      }
      #expect(throws: CryptoError.self) {
        _ = try P256PrivateKey.load(.uri(provider: "tpm2", uri: "handle:0x81000001"), in: element)
      }
      // The intact blob still loads: the refusals were about the bytes.
      _ = try P256PrivateKey.load(.wrapped(provider: "tpm2", bytes: blob), in: element)
    }
  }

  /// A key kept in the TPM at a persistent handle, as a factory station would
  /// make it (tpm2-tools here), reached by its OSSL_STORE URI: it signs with
  /// the public key the TPM reports, refuses export, and is still there after
  /// a reboot; a handle with nothing behind it throws.
  @Test func persistentHandleKeyLoadsByURI() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let handle = "0x81000010"
      let factory = tpm.stateDirectory.appendingPathComponent("factory")
      try FileManager.default.createDirectory(at: factory, withIntermediateDirectories: true)
      // No resource manager in front of swtpm: flush transient objects after
      // each tool, or the TPM's three object slots run out.
      let script = """
        set -e
        cd '\(factory.path)'
        tpm2_createprimary -Q -C o -g sha256 -G ecc256 -c primary.ctx
        tpm2_flushcontext -t
        tpm2_create -Q -C primary.ctx -G ecc256:ecdsa-sha256 -u key.pub -r key.priv
        tpm2_flushcontext -t
        tpm2_load -Q -C primary.ctx -u key.pub -r key.priv -c key.ctx
        tpm2_flushcontext -t
        tpm2_evictcontrol -Q -C o -c key.ctx \(handle)
        tpm2_flushcontext -t
        """
      var environment = ProcessInfo.processInfo.environment
      environment["TPM2TOOLS_TCTI"] = tpm.tcti
      let made = try AgentRun.run(
        executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script], environment: environment)
      try #require(made.status == 0, "factory step: \(made.stderr)")
      let reference = KeyReference.uri(provider: "tpm2", uri: "handle:\(handle)")
      let stored = reference.serialized()
      var publicX: [UInt8] = []
      var publicY: [UInt8] = []
      do {
        let element = try KeyElement.tpm2(tcti: tpm.tcti)
        let key = try P256PrivateKey.load(KeyReference(serialized: stored), in: element)
        #expect(key.isInElement)
        let published = try key.publicKey()
        publicX = published.x
        publicY = published.y
        let message = Array("persistent".utf8)
        try published.verifyES256(signature: try key.signES256(message), message: message)
        #expect(throws: CryptoError.notExportable) { _ = try key.derRepresentation() }
        #expect(throws: CryptoError.self) {
          _ = try P256PrivateKey.load(.uri(provider: "tpm2", uri: "handle:0x81000011"), in: element)
        }
      }
      try tpm.restart()
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      let again = try P256PrivateKey.load(KeyReference(serialized: stored), in: element)
      let message = Array("persistent after reboot".utf8)
      try P256PublicKey(x: publicX, y: publicY)
        .verifyES256(signature: try again.signES256(message), message: message)
    }
  }

  @Test func keyReferenceSerializationIsStrict() throws {
    let wrapped = KeyReference.wrapped(provider: "tpm2", bytes: [1, 2, 3])
    #expect(try KeyReference(serialized: wrapped.serialized()) == wrapped)
    let uri = KeyReference.uri(provider: "tpm2", uri: "handle:0x81000001")
    #expect(try KeyReference(serialized: uri.serialized()) == uri)
    let bytes = wrapped.serialized()
    for length in 0..<bytes.count {
      #expect(throws: CryptoError.self) { _ = try KeyReference(serialized: Array(bytes[0..<length])) }
    }
    #expect(throws: CryptoError.self) { _ = try KeyReference(serialized: bytes + [0]) }
    var badKind = bytes
    badKind[0] = 9
    #expect(throws: CryptoError.self) { _ = try KeyReference(serialized: badKind) }
    let badURI = KeyReference.uri(provider: "tpm2", uri: "handle:\n0x1").serialized()
    #expect(throws: CryptoError.self) { _ = try KeyReference(serialized: badURI) }
  }

  /// Sign time with the TPM key vs a software key (printed for the report; the
  /// only assertion is that every signature verifies).
  @Test func signTimingTPMVersusSoftware() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let element = try KeyElement.tpm2(tcti: tpm.tcti)
      let count = 300
      let message = Array("timing message of a typical client assertion size".utf8)
      func measure(_ key: P256PrivateKey) throws -> Double {
        let verifier = try key.publicKey()
        let start = DispatchTime.now().uptimeNanoseconds
        var signatures: [[UInt8]] = []
        for _ in 0..<count { signatures.append(try key.signES256(message)) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        for signature in signatures { try verifier.verifyES256(signature: signature, message: message) }
        return elapsed
      }
      let tpmMs = try measure(try P256PrivateKey.generate(in: element))
      let softwareMs = try measure(try P256PrivateKey.generate())
      print(
        "TPMKeyTests timing: \(count) ES256 signs: swtpm \(String(format: "%.1f", tpmMs)) ms"
          + " (\(String(format: "%.3f", tpmMs / Double(count))) ms/sign),"
          + " software \(String(format: "%.1f", softwareMs)) ms"
          + " (\(String(format: "%.3f", softwareMs / Double(count))) ms/sign)")
    }
  }

  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count)
    where Array(haystack[start..<(start + needle.count)]) == needle {
      return true
    }
    return false
  }
}
