import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// `identity_key = tpm2`: the real hosted binary provisions its identity key
/// inside a TPM (swtpm) with its own commands, persistent and noDA, the vault
/// keeps only its handle and authValue, `status` and `attest` reach the key
/// through tpm2-openssl, power cuts never lock it out,
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

      // The vault, decrypted: a handle and an authValue, no private key.
      let contents = try #require(try Self.openVault(board))
      #expect(contents.identityKey == nil)
      let first = try #require(Self.persistentReference(contents))
      #expect(first.handle == 0x8100_0CA1)
      #expect(
        first.authValue.count == 32
          && Base64URL.decode(String(decoding: first.authValue, as: UTF8.self))?.count == 24)
      let plaintext = contents.encodedForBenchmark()
      #expect(!Self.contains(plaintext, Self.ecPrivateKeyHead))
      for (name, data) in try Self.vaultFiles(board) {
        #expect(!Self.contains(Array(data), Self.ecPrivateKeyHead), "\(name)")
      }

      // In the TPM: the printed key, persistent, with exactly the template's
      // attributes (noDA among them), and nothing at the second handle.
      let made = try #require(try Self.occupant(tpm, first.handle))
      #expect(made.attributes == TPMIdentityKey<SwtpmTransport>.attributes)
      #expect(made.attributes & TPMObjectAttribute.noDA != 0)
      #expect(made.x == published.x && made.y == published.y)
      #expect(try Self.occupant(tpm, 0x8100_0CA2) == nil)

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

      // provision --force makes the new key at the other handle, and only
      // then evicts the old one: one identity in the TPM afterwards.
      let again = try board.agent(
        ["provision", "--device-id", "cam-0001", "--force"], extraConfig: Self.tpmConfig(tpm))
      #expect(again.status == 0, "\(again.stderr)")
      let second = try Self.publicKey(fromProvisionOutput: again.stdout)
      #expect(second.x != published.x)
      let secondReference = try #require(Self.persistentReference(try Self.openVault(board)))
      #expect(secondReference.handle == 0x8100_0CA2 && secondReference.authValue != first.authValue)
      #expect(try Self.occupant(tpm, 0x8100_0CA1) == nil)
      #expect(try Self.occupant(tpm, 0x8100_0CA2)?.x == second.x)
      let third = try board.agent(
        ["provision", "--device-id", "cam-0001", "--force"], extraConfig: Self.tpmConfig(tpm))
      #expect(third.status == 0, "\(third.stderr)")
      #expect(Self.persistentReference(try Self.openVault(board))?.handle == 0x8100_0CA1)
      #expect(try Self.occupant(tpm, 0x8100_0CA2) == nil)

      // wipe evicts it: a wiped board leaves no identity in its TPM.
      let wiped = try board.agent(["wipe", "--local-only"], extraConfig: Self.tpmConfig(tpm))
      #expect(wiped.status == 0, "\(wiped.stderr)")
      #expect(wiped.stdout.contains("TPM identity key evicted"), "\(wiped.stdout)")
      for handle in TPMIdentityKey<SwtpmTransport>.handles { #expect(try Self.occupant(tpm, handle) == nil) }
    }
  }

  static func persistentReference(_ contents: VaultContents?) -> (handle: UInt32, authValue: [UInt8])? {
    guard let stored = contents?.identityKeyReference,
      case .persistent(let provider, let handle, let authValue)? = try? KeyReference(
        serialized: stored.revealCopy()),
      provider == "tpm2"
    else { return nil }
    return (handle, authValue)
  }

  /// What sits at a persistent handle, read over the test's own connection
  /// (the agent has exited: swtpm serves one connection at a time).
  static func occupant(_ tpm: SwtpmProviderFixture, _ handle: UInt32) throws -> TPMECCPublic? {
    var key = TPMIdentityKey(transport: try SwtpmTransport(port: UInt16(tpm.port)))
    return try key.occupant(handle)
  }

  /// The reason for the agent's own key: power cuts. A TPM counts an
  /// unclean shutdown as a failed authorization when a DA-protected key was
  /// in use (libtpms: 3 tries); a tpm2-openssl key locks out from the 4th
  /// cut (Tests/tpm/da-lockout.sh). Here 6 cuts, each right after a
  /// signature, and the identity signs after every one.
  @Test func powerCutsDoNotLockTheIdentityOut() throws {
    let tpm = try SwtpmProviderFixture()
    defer { tpm.stop() }
    let board = try Board()
    let provisioned = try board.agent(
      ["provision", "--device-id", "cam-0001"], extraConfig: Self.tpmConfig(tpm))
    #expect(provisioned.status == 0, "\(provisioned.stderr)")
    let published = try Self.publicKey(fromProvisionOutput: provisioned.stdout)
    let attest = ["attest", "--nonce", AttestCommandTests.nonce, "--audience", AttestCommandTests.audience]
    for boot in 1...7 {
      let run = try board.agent(attest, extraConfig: Self.tpmConfig(tpm))
      #expect(run.status == 0, "boot \(boot): \(run.stderr)")
      if run.status == 0 { _ = try TestJWS.verify(String(run.stdout.dropLast()), key: published) }
      guard boot < 7 else { break }
      tpm.cut()
      try tpm.start()
    }
  }

  /// An object the agent did not make at its handle is neither evicted nor
  /// used: provision refuses, names the handle, and leaves it there.
  @Test func aForeignObjectAtTheHandleIsLeftAlone() throws {
    let tpm = try SwtpmProviderFixture()
    try tpm.whileRunning {
      do {
        // A P-256 key like ours but without noDA: someone else's.
        let transport = try SwtpmTransport(port: UInt16(tpm.port))
        let foreign = TPMIdentityKey<SwtpmTransport>.attributes & ~TPMObjectAttribute.noDA
        let (handles, _) = try TPMResponse.parameters(
          transport.transmit(
            TPMCommand.createPrimaryECC(
              attributes: foreign, authValue: [], unique: Array(repeating: 3, count: 32))),
          command: TPMConstant.ccCreatePrimary, sessions: true, handles: 1)
        _ = try TPMResponse.parameters(
          transport.transmit(TPMCommand.evictControl(object: handles[0], persistent: 0x8100_0CA1)),
          command: TPMConstant.ccEvictControl, sessions: true)
        _ = try transport.transmit(TPMCommand.flushContext(handles[0]))
      }
      let board = try Board()
      let run = try board.agent(["provision", "--device-id", "cam-0001"], extraConfig: Self.tpmConfig(tpm))
      #expect(run.status == 1, "\(run.stderr)")
      #expect(
        run.stderr.contains("persistent handle 0x81000ca1 holds an object camera-agent did not make"),
        "\(run.stderr)")
      #expect(try Self.openVault(board) == nil)
      #expect {
        _ = try Self.occupant(tpm, 0x8100_0CA1)
      } throws: { error in
        "\(error)".contains("did not make")
      }
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

  /// The persistent reference comes from the vault and the TCTI from the
  /// configuration: both untrusted, both checked whole.
  @Test func persistentReferencesAndTCTIsAreChecked() throws {
    let auth = Array("0123456789abcdefghijABCDEFGHIJ-_".utf8)
    let reference = KeyReference.persistent(provider: "tpm2", handle: 0x8100_0CA2, authValue: auth)
    #expect(try KeyReference(serialized: reference.serialized()) == reference)
    #expect(KeyReference.handleURI(0x8100_0CA1) == "handle:0x81000ca1?pass")
    let bad: [KeyReference] = [
      .persistent(provider: "tpm2", handle: 0x8100_0CA1, authValue: []),  // no authValue
      .persistent(provider: "tpm2", handle: 0x8100_0CA1, authValue: auth + [0x41]),  // 33 bytes
      .persistent(provider: "tpm2", handle: 0x0180_0CA0, authValue: auth),  // an NV index, not persistent
      .persistent(provider: "tpm2", handle: 0x8100_0CA1, authValue: [0x41, 0x00, 0x42]),  // a NUL
      .persistent(provider: "tpm2", handle: 0x8100_0CA1, authValue: [0x41, 0x20, 0x42]),  // a space
    ]
    for candidate in bad {
      #expect(throws: CryptoError.self) { _ = try KeyReference(serialized: candidate.serialized()) }
    }
    for tcti in [
      "swtpm:host=192.0.2.1,port=2321", "swtpm:host=127.0.0.1", "swtpm:port=0", "swtpm:port=70000",
      "swtpm:port=12a", "mssim:host=127.0.0.1,port=2321", "libtss2-tcti-foo.so", "swtpm:", "device:",
    ] {
      #expect(
        throws: TPMError.self, "\(tcti)",
        performing: { _ = try DeviceTPMTransport.open(tcti: tcti) })
    }
    #expect {
      _ = try DeviceTPMTransport.open(tcti: "device:/nonexistent/tpmrm0")
    } throws: { error in
      "\(error)".contains("open /nonexistent/tpmrm0")
    }
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
