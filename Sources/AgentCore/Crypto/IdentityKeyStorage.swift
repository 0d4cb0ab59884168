/// Where the board's identity key lives (`identity_key =` in agent.conf).
///
/// - `software` (the default): OpenSSL makes the key and the vault holds its
///   DER, sealed under the hardware-unique key. A flash dump is useless, but
///   root on the running camera can read the key out of the agent's memory.
/// - `tpm2`: the key is made inside a TPM 2.0 through OpenSSL 3's tpm2-openssl
///   provider and never leaves it; the vault holds only its `KeyReference`
///   (the TPM's wrapped blob, loadable by that TPM alone). `tcti` says how the
///   provider reaches the TPM ("device:/dev/tpmrm0"); nil leaves the TSS
///   default (/dev/tpmrm0, /dev/tpm0, then a simulator on localhost:2321).
///
/// The setting decides where `provision` makes a new key. An existing
/// record is loaded the way it was written: a software key from its DER
/// whatever the setting, and a TPM reference only through the TPM, so a
/// board whose configuration lost `identity_key = tpm2` stops with a clear
/// error instead of quietly making a software identity.
public enum IdentityKeyStorage: Equatable, CustomStringConvertible {
  case software
  case tpm2(tcti: String?)

  /// The longest TCTI accepted: "swtpm:host=...,port=..." or
  /// "device:/dev/tpmrm0" are a few dozen bytes.
  static let maximumTCTILength = 256

  /// `software`, `tpm2` or `tpm2:TCTI`. A TCTI is printable ASCII without
  /// spaces (it reaches the provider through an environment variable).
  public static func parse(_ text: String) -> IdentityKeyStorage? {
    let bytes = Array(text.utf8)
    if bytes == Array("software".utf8) { return .software }
    if bytes == Array("tpm2".utf8) { return .tpm2(tcti: nil) }
    let prefix = Array("tpm2:".utf8)
    guard bytes.count > prefix.count, Array(bytes[0..<prefix.count]) == prefix else { return nil }
    let tcti = Array(bytes[prefix.count...])
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
  /// for a TPM key (whose export is refused by construction).
  public func generate(into contents: inout VaultContents) throws(CryptoError) -> P256PrivateKey {
    switch self {
    case .software:
      let key = try P256PrivateKey.generate()
      contents.identityKey = try key.derRepresentation()
      contents.identityKeyReference = nil
      return key
    case .tpm2(let tcti):
      #if CAMERA_AGENT_NO_SECURE_ELEMENT
        _ = tcti
        throw .invalidInput("this build has no TPM support")
      #else
        let element = try KeyElement.tpm2(tcti: tcti)
        let key = try P256PrivateKey.generate(in: element)
        contents.identityKeyReference = SecretBytes(try key.reference().serialized())
        contents.identityKey = nil
        return key
      #endif
    }
  }

  /// The identity key of a vault record (untrusted bytes: a malformed DER or
  /// reference throws `.invalidInput`).
  public func load(_ contents: VaultContents) throws(CryptoError) -> P256PrivateKey {
    if let stored = contents.identityKeyReference {
      let reference = try KeyReference(serialized: stored.revealCopy())
      guard reference.provider == "tpm2" else {
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
