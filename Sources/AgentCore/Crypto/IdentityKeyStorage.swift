/// Where the board's identity key lives (`identity_key =` in agent.conf).
///
/// - `software` (the default): OpenSSL makes the key and the vault holds its
///   DER, sealed under the hardware-unique key. A flash dump is useless, but
///   root on the running camera can read the key out of the agent's memory.
/// - `tpm2`: the key is made inside a TPM 2.0 by the agent's own commands
///   (`TPMIdentityKey`: persistent, noDA, a random authValue) and never
///   leaves it; OpenSSL 3's tpm2-openssl provider does every signature. The
///   vault holds only its `KeyReference` (handle and authValue). `tcti` says
///   how to reach the TPM ("device:/dev/tpmrm0"); nil leaves the default
///   (/dev/tpmrm0). Records written before this (a provider-made key, kept
///   as the TPM's wrapped blob) still load.
///
/// The setting decides where `provision` makes a new key. An existing
/// record is loaded the way it was written: a software key from its DER
/// whatever the setting, and a TPM reference only through the TPM, so a
/// board whose configuration lost `identity_key = tpm2` stops with a clear
/// error instead of quietly making a software identity.
public enum IdentityKeyStorage: Equatable, CustomStringConvertible {
  case software
  case tpm2(tcti: String?)

  /// A pattern, not `== .software`: the derived `==` compares the TCTI
  /// strings (Unicode equality, see Word).
  public var isSoftware: Bool {
    if case .software = self { return true }
    return false
  }

  /// The longest TCTI accepted: "swtpm:host=...,port=..." or
  /// "device:/dev/tpmrm0" are a few dozen bytes.
  static let maximumTCTILength = 256

  /// `software`, `tpm2` or `tpm2:TCTI`. A TCTI is printable ASCII without
  /// spaces (it reaches the provider through an environment variable).
  public static func parse(_ text: String) -> IdentityKeyStorage? {
    let bytes = Array(text.utf8)
    if bytes == Array("software".utf8) { return .software }
    if bytes == Array("tpm2".utf8) { return .tpm2(tcti: nil) }
    guard let tcti = ASCII.remainder(of: bytes, after: "tpm2:") else { return nil }
    guard tcti.count <= maximumTCTILength, tcti.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else { return nil }
    return .tpm2(tcti: String(decoding: tcti, as: UTF8.self))
  }

  public var description: String {
    switch self {
    case .software: return "software"
    case .tpm2(let tcti?): return "tpm2:\(tcti)"
    case .tpm2(nil): return "tpm2"
    }
  }

  /// A new identity key where this storage says, and what the vault keeps
  /// of it: `identityKey` (DER) for a software key, `identityKeyReference`
  /// for a TPM key (whose export is refused by construction). `replacing` is
  /// the record being replaced, if it could be read: its TPM key is left in
  /// place (the new key goes to the other handle) until `retire` runs after
  /// the new record is durable.
  public func generate(
    into contents: inout VaultContents, replacing previous: VaultContents? = nil
  ) throws(CryptoError) -> P256PrivateKey {
    switch self {
    case .software:
      let key = try P256PrivateKey.generate()
      contents.identityKey = try key.derRepresentation()
      contents.identityKeyReference = nil
      return key
    case .tpm2(let tcti):
      #if CAMERA_AGENT_NO_SECURE_ELEMENT
        _ = tcti
        _ = previous
        throw .invalidInput("this build has no TPM support")
      #else
        var random = SystemRandom()
        // 24 random bytes as 32 base64url characters: the provider takes the
        // authValue as a C string, and 32 bytes is the most a SHA-256 key's
        // authValue may be.
        let authValue = Array(Base64URL.encode(try random.bytes(24)).utf8)
        // The template's unique field: entropy that makes this a new key.
        let unique = try random.bytes(32)
        let handle = TPMIdentityKey<DeviceTPMTransport>.handle(avoiding: Self.persistentHandle(of: previous))
        let created: TPMECCPublic
        do throws(TPMError) {
          // The transport is closed when this returns, before the provider
          // opens the TPM: swtpm serves one connection at a time.
          created = try Self.createInTPM(tcti: tcti, at: handle, authValue: authValue, unique: unique)
        } catch {
          throw .invalidInput("making the identity key in the TPM: \(error.description)")
        }
        let reference = KeyReference.persistent(provider: "tpm2", handle: handle, authValue: authValue)
        let key = try P256PrivateKey.load(reference, in: try KeyElement.tpm2(tcti: tcti))
        // The provider must have loaded the key the TPM just made, not
        // something else at that handle.
        let loaded = try key.publicKey()
        guard loaded.x == created.x, loaded.y == created.y else {
          throw .invalidInput("the TPM key loaded at 0x\(TPMError.hex(handle)) is not the one just made")
        }
        contents.identityKeyReference = SecretBytes(reference.serialized())
        contents.identityKey = nil
        return key
      #endif
    }
  }

  #if !CAMERA_AGENT_NO_SECURE_ELEMENT
    private static func createInTPM(
      tcti: String?, at handle: UInt32, authValue: [UInt8], unique: [UInt8]
    ) throws(TPMError) -> TPMECCPublic {
      var tpm = TPMIdentityKey(transport: try DeviceTPMTransport.open(tcti: tcti))
      return try tpm.create(at: handle, authValue: authValue, unique: unique)
    }
  #endif

  /// After a record with a new TPM identity is durable: evicts every other
  /// key of ours from the TPM (the replaced identity, or one a power cut
  /// left behind), so only the vault's key remains. `contents` nil (a wipe)
  /// evicts them all. Nothing to do for a software identity or without a TPM.
  public func retire(keeping contents: VaultContents?) throws(CryptoError) {
    guard case .tpm2(let tcti) = self else { return }
    #if CAMERA_AGENT_NO_SECURE_ELEMENT
      _ = tcti
      _ = contents
    #else
      let keep = Self.persistentHandle(of: contents)
      do throws(TPMError) {
        var tpm = TPMIdentityKey(transport: try DeviceTPMTransport.open(tcti: tcti))
        for handle in TPMIdentityKey<DeviceTPMTransport>.handles where handle != keep {
          try tpm.evict(handle)
        }
      } catch {
        throw .invalidInput("evicting the old TPM identity: \(error.description)")
      }
    #endif
  }

  /// The persistent handle a record's TPM identity uses, if it has one.
  static func persistentHandle(of contents: VaultContents?) -> UInt32? {
    guard let stored = contents?.identityKeyReference,
      let reference = try? KeyReference(serialized: stored.revealCopy()),
      case .persistent(_, let handle, _) = reference
    else { return nil }
    return handle
  }

  /// The identity key of a vault record (untrusted bytes: a malformed DER or
  /// reference throws `.invalidInput`).
  public func load(_ contents: VaultContents) throws(CryptoError) -> P256PrivateKey {
    if let stored = contents.identityKeyReference {
      let reference = try KeyReference(serialized: stored.revealCopy())
      guard Word(reference.provider) == "tpm2" else {
        throw .invalidInput(
          "the identity key is held by provider \(reference.provider), which this build cannot use")
      }
      guard case .tpm2(let tcti) = self else {
        throw .invalidInput("the identity key is held by the TPM (tpm2), but identity_key = \(description)")
      }
      #if CAMERA_AGENT_NO_SECURE_ELEMENT
        _ = tcti
        throw .invalidInput("the identity key is held by the TPM, and this build has no TPM support")
      #else
        return try P256PrivateKey.load(reference, in: try KeyElement.tpm2(tcti: tcti))
      #endif
    }
    guard let der = contents.identityKey else { throw .invalidInput("the vault holds no identity key") }
    return try P256PrivateKey.fromDER(der)
  }

  /// Where a record's identity key is: "tpm2", "software", or nil (none).
  public static func kind(of contents: VaultContents) -> String? {
    if contents.identityKeyReference != nil { return "tpm2" }
    return contents.identityKey == nil ? nil : "software"
  }
}
