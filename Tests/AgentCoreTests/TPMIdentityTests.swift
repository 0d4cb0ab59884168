import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// `identity_key = tpm2`: the real hosted binary provisions its identity key
/// inside a TPM (swtpm, through tpm2-openssl), the vault keeps only the TPM's
/// wrapped reference, `status` and `attest` reach the key through the TPM,
/// and a missing, different or unconfigured TPM stops the command with the
/// reason and changes nothing. Serialized: each test starts its own swtpm,
/// and a TPM without a resource manager has only three object slots.
@Suite(.serialized) struct TPMIdentityTests {
  typealias Board = AttestCommandTests.Board

  /// The head of an RFC 5915 ECPrivateKey for a 32-byte scalar: SEQUENCE
  /// (0x77 bytes), INTEGER 1, OCTET STRING (32). A P-256 private key in
  /// software form, anywhere, starts with these bytes.
  static let ecPrivateKeyHead: [UInt8] = [0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]

  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    for start in 0...(haystack.count - needle.count)
    where haystack[start] == needle[0] && Array(haystack[start..<(start + needle.count)]) == needle {
      return true
    }
    return false
  }

  static func tpmConfig(_ tpm: SwtpmProviderFixture) -> String { "identity_key = tpm2:\(tpm.tcti)\n" }

  /// The vault as the agent would open it, with the board's key file.
  static func openVault(_ board: Board) throws -> VaultContents? {
    let huk = try Data(contentsOf: board.directory.appendingPathComponent("huk"))
    var vault = Vault(
      store: FileSlotStore(directory: board.directory.appendingPathComponent("vault").path),
      hardwareKey: SecretBytes(Array(huk)))
    return try vault.open()
  }

  static func vaultFiles(_ board: Board) throws -> [String: Data] {
    try AntiRollbackCLITests.slotFiles(board)
  }

  static func publicKey(fromProvisionOutput stdout: String) throws -> P256PublicKey {
    let jwk = try JSONReader.parseObject(Array(stdout.utf8)).requiredObject("jwk")
    return try P256PublicKey(
      x: try #require(Base64URL.decode(try jwk.requiredString("x"))),
      y: try #require(Base64URL.decode(try jwk.requiredString("y"))))
  }

  @Test func theSettingIsChecked() throws {
    let board = try Board()
    for value in ["tpm", "tpm2:", "TPM2", "tpm2:a b", "hsm", "software:x"] {
      let run = try board.agent(["status"], extraConfig: "identity_key = \(value)\n")
      #expect(run.status == ExitCode.config, "\(value): \(run.status)")
      #expect(run.stderr.contains("expected software, tpm2 or tpm2:TCTI"), "\(value): \(run.stderr)")
    }
    for value in ["software", "tpm2", "tpm2:device:/dev/tpmrm0"] {
      #expect(try board.agent(["status"], extraConfig: "identity_key = \(value)\n").status == 0, "\(value)")
    }
    #expect(
      IdentityKeyStorage.parse("tpm2:swtpm:host=127.0.0.1,port=2321")
        == .tpm2(tcti: "swtpm:host=127.0.0.1,port=2321"))
    #expect(IdentityKeyStorage.parse(String(repeating: "x", count: 300)) == nil)
  }

  /// The scan's positive control: a software identity's vault plaintext
  /// does hold an ECPrivateKey, so the scan below would see one.
  @Test func aSoftwareIdentityIsFoundByTheScan() throws {
    let board = try Board()
    #expect(try board.agent(["provision", "--device-id", "cam-sw-scan"]).status == 0)
    let contents = try #require(try Self.openVault(board))
    #expect(contents.identityKey != nil && contents.identityKeyReference == nil)
    #expect(Self.contains(contents.encodedForBenchmark(), Self.ecPrivateKeyHead))
    #expect(try board.agent(["status"]).stdout.contains("\nidentity_store=software\n"))
  }

  @Test func provisionMakesTheKeyInTheTPMAndTheVaultHoldsOnlyItsReference() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      let board = try Board()
      let provisioned = try board.agent(
        ["provision", "--device-id", "cam-0001"], extraConfig: Self.tpmConfig(tpm))
      #expect(provisioned.status == 0, "\(provisioned.stderr)")
      let published = try Self.publicKey(fromProvisionOutput: provisioned.stdout)
      let thumbprint = try PublicJWK(published).thumbprint()

      // The vault, decrypted: a reference to a TSS2 key and no private key.
      let contents = try #require(try Self.openVault(board))
      #expect(contents.identityKey == nil)
      let stored = try #require(contents.identityKeyReference)
      guard case .wrapped(let provider, let blob) = try KeyReference(serialized: stored.revealCopy()) else {
        Issue.record("expected a wrapped TPM key")
        return
      }
      #expect(provider == "tpm2")
      #expect(TPMKeyTests.contains(blob, TPMKeyTests.loadableKeyOID))
      #expect(TPMKeyTests.contains(blob, published.x), "the blob's public area is the printed key")
      let plaintext = contents.encodedForBenchmark()
      #expect(!Self.contains(plaintext, Self.ecPrivateKeyHead))
      for (name, data) in try Self.vaultFiles(board) {
        #expect(!Self.contains(Array(data), Self.ecPrivateKeyHead), "\(name)")
      }

      // status reaches the key through the TPM for its public half.
      let status = try board.agent(["status"], extraConfig: Self.tpmConfig(tpm))
      #expect(status.status == 0, "\(status.stderr)")
      #expect(status.stdout.contains("\nidentity_key=present\nidentity_store=tpm2\n"), "\(status.stdout)")
      #expect(status.stdout.contains("\nidentity_thumbprint=\(thumbprint)\n"), "\(status.stdout)")

      // attest signs in the TPM: the JWK printed at provisioning verifies it.
      let attest = try board.agent(
        ["attest", "--nonce", AttestCommandTests.nonce, "--audience", AttestCommandTests.audience],
        extraConfig: Self.tpmConfig(tpm))
      #expect(attest.status == 0, "\(attest.stderr)")
      let decoded = try TestJWS.verify(String(attest.stdout.dropLast()), key: published)
      #expect(try decoded.header.requiredString("kid") == thumbprint)
      #expect(try decoded.claims.requiredString("iss") == "cam-0001")

      // provision --force makes a new TPM key and the old reference is gone.
      let again = try board.agent(
        ["provision", "--device-id", "cam-0001", "--force"], extraConfig: Self.tpmConfig(tpm))
      #expect(again.status == 0, "\(again.stderr)")
      #expect(try Self.publicKey(fromProvisionOutput: again.stdout).x != published.x)
      let files = try Self.vaultFiles(board)
      #expect(!files.values.contains { Self.contains(Array($0), Array(blob.suffix(64))) })
    }
  }

  /// A TPM identity is never used without its TPM, and never replaced by a
  /// software key behind the owner's back: each refusal names the reason and
  /// leaves the vault byte-identical.
  @Test func aTPMIdentityNeedsItsTPM() throws {
    let tpm = try SwtpmProviderFixture()
    let board = try Board()
    try tpm.whileRunning {
      let provisioned = try board.agent(
        ["provision", "--device-id", "cam-0001"], extraConfig: Self.tpmConfig(tpm))
      #expect(provisioned.status == 0, "\(provisioned.stderr)")
    }
    let before = try Self.vaultFiles(board)
    let attest = ["attest", "--nonce", AttestCommandTests.nonce, "--audience", AttestCommandTests.audience]

    // The TPM is gone (swtpm stopped): attest fails, status shows it unreadable.
    let gone = try board.agent(attest, extraConfig: Self.tpmConfig(tpm))
    #expect(gone.status == 1, "\(gone.stderr)")
    #expect(gone.stderr.contains("attest failed: identity key: "), "\(gone.stderr)")
    let status = try board.agent(["status"], extraConfig: Self.tpmConfig(tpm))
    #expect(status.stdout.contains("\nidentity_key=unreadable\nidentity_store=tpm2\n"), "\(status.stdout)")

    // The configuration lost identity_key = tpm2: a clear refusal, no software key.
    let unconfigured = try board.agent(attest)
    #expect(unconfigured.status == 1)
    #expect(
      unconfigured.stderr.contains("held by the TPM (tpm2), but identity_key = software"),
      "\(unconfigured.stderr)")

    // Another TPM (a swapped chip, or the vault moved to another board).
    let other = try SwtpmProviderFixture()
    try other.whileRunning {
      let run = try board.agent(attest, extraConfig: Self.tpmConfig(other))
      #expect(run.status == 1, "\(run.stderr)")
      #expect(run.stderr.contains("not a P-256 key of tpm2"), "\(run.stderr)")
    }
    #expect(try Self.vaultFiles(board) == before)

    // Its own TPM back (same state): it signs again.
    try tpm.start()
    let signed = try tpm.whileRunning { try board.agent(attest, extraConfig: Self.tpmConfig(tpm)) }
    #expect(signed.status == 0, "\(signed.stderr)")
  }

  /// One identity per record: a record carrying both a software key and a
  /// TPM reference is refused on open (which key signs must never depend on
  /// which field a reader looks at), and replacing the reference destroys.
  @Test func aRecordHoldsOneIdentity() throws {
    let hardwareKey = SecretBytes(Array("board key for the identity tests".utf8))
    var vault = Vault(store: MemorySlotStore(), hardwareKey: hardwareKey)
    var contents = VaultContents(deviceID: "cam-two-ids")
    contents.identityKey = try P256PrivateKey.generate().derRepresentation()
    contents.identityKeyReference = SecretBytes(
      KeyReference.wrapped(provider: "tpm2", bytes: Array(repeating: 7, count: 200)).serialized())
    var random = SeededRandom(seed: 5)
    _ = try vault.commit(contents, random: &random)
    var reopened = Vault(store: vault.store, hardwareKey: hardwareKey)
    #expect {
      _ = try reopened.open()
    } throws: { error in
      "\(error)".contains("two identity keys")
    }

    var old = VaultContents(deviceID: "cam-ref")
    old.identityKeyReference = SecretBytes([1, 4, 116, 112, 109, 50, 0, 1, 9])
    var new = old
    #expect(!VaultDestroyRule.destroys(replacing: old, with: new))
    new.identityKeyReference = SecretBytes([1, 4, 116, 112, 109, 50, 0, 1, 8])
    #expect(VaultDestroyRule.destroys(replacing: old, with: new))
    new.identityKeyReference = nil
    #expect(VaultDestroyRule.destroys(replacing: old, with: new))
  }
}
