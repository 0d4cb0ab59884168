/// TPMA_OBJECT bits (TPM 2.0 Part 2, 8.3) of the identity key.
public enum TPMObjectAttribute {
  public static let fixedTPM: UInt32 = 1 << 1
  public static let fixedParent: UInt32 = 1 << 4
  public static let sensitiveDataOrigin: UInt32 = 1 << 5
  public static let userWithAuth: UInt32 = 1 << 6
  public static let noDA: UInt32 = 1 << 10
  public static let sign: UInt32 = 1 << 18
}

/// The board's identity key as the agent makes it with its own TPM commands:
/// a primary P-256 signing key of the owner hierarchy, persistent at one of
/// two handles, with a random authValue that only the vault holds.
///
/// Why not a key made through tpm2-openssl: the provider's keys lack `noDA`,
/// so every unclean power-off with the key in use counts as a failed
/// authorization (TPM 2.0 Part 1, 19.8.6) and a camera on flaky power locks
/// its identity out (libtpms: 3 tries, 1,000 s recovery;
/// Tests/tpm/da-lockout.sh shows it). This key is exempt from dictionary-
/// attack counting (`noDA`), which is sound because its authValue is 24
/// random bytes, not a guessable password. The provider still does every
/// signature (it loads the key by "handle:0x...?pass").
///
/// Why two handles: `provision --force` makes the new key at the handle the
/// current vault does not use, and evicts the old one only after the new
/// record is durable, so a power cut in between keeps the old identity
/// usable. Why a primary key: no parent to keep or recreate, and the key
/// stays in the TPM (persistent), so the vault holds a handle, not a blob.
public struct TPMIdentityKey<Transport: TPMTransport> {
  /// In the owner's persistent range (0x81000000-0x817FFFFF); "CA" for
  /// camera-agent, beside the anti-rollback counter's NV index 0x01800CA0.
  public static var handles: [UInt32] { [0x8100_0CA1, 0x8100_0CA2] }

  /// fixedTPM | fixedParent | sensitiveDataOrigin (never exportable, made
  /// inside), userWithAuth (the authValue authorizes signing), noDA, sign.
  public static var attributes: UInt32 {
    TPMObjectAttribute.fixedTPM | TPMObjectAttribute.fixedParent | TPMObjectAttribute.sensitiveDataOrigin
      | TPMObjectAttribute.userWithAuth | TPMObjectAttribute.noDA | TPMObjectAttribute.sign
  }

  /// The handle a new key goes to: the first one `current` (the handle the
  /// vault's present identity uses, if any) does not hold.
  public static func handle(avoiding current: UInt32?) -> UInt32 {
    handles[0] == current ? handles[1] : handles[0]
  }

  public var transport: Transport

  public init(transport: Transport) { self.transport = transport }

  /// The public area at `handle`: nil if nothing is there, the key if it is
  /// one the agent made, `.notOurKey` for any other object.
  public mutating func occupant(_ handle: UInt32) throws(TPMError) -> TPMECCPublic? {
    let parameters: [UInt8]
    do throws(TPMError) {
      parameters = try TPMResponse.parameters(
        transport.transmit(TPMCommand.readPublic(object: handle)), command: TPMConstant.ccReadPublic,
        sessions: false)
    } catch let error where error.baseResponseCode == TPMResponseCode.handle {
      return nil
    }
    let found: TPMECCPublic
    do throws(TPMError) {
      found = try TPMECCPublic.parseReadPublic(parameters)
    } catch .malformedResponse {
      // Some other kind of object (an RSA key, a storage parent): not ours.
      throw .notOurKey(handle: handle, attributes: 0)
    }
    guard Self.isOurs(found) else { throw .notOurKey(handle: handle, attributes: found.attributes) }
    return found
  }

  /// A new identity key persistent at `handle` (one of `handles`), replacing
  /// an old key of ours there. Returns its public area.
  public mutating func create(
    at handle: UInt32, authValue: [UInt8], unique: [UInt8]
  ) throws(TPMError) -> TPMECCPublic {
    precondition(Self.handles.contains(handle))
    try evict(handle)
    let command = TPMCommand.createPrimaryECC(
      attributes: Self.attributes, authValue: authValue, unique: unique)
    let (handles, parameters) = try TPMResponse.parameters(
      transport.transmit(command), command: TPMConstant.ccCreatePrimary, sessions: true, handles: 1)
    let transient = handles[0]
    let created: TPMECCPublic
    do throws(TPMError) {
      created = try TPMECCPublic.parseCreatePrimary(parameters)
      guard Self.isOurs(created), created.x.count == 32, created.y.count == 32 else {
        throw TPMError.malformedResponse(
          command: TPMConstant.ccCreatePrimary, reason: "the created key is not the template asked for")
      }
      _ = try TPMResponse.parameters(
        transport.transmit(TPMCommand.evictControl(object: transient, persistent: handle)),
        command: TPMConstant.ccEvictControl, sessions: true)
    } catch {
      _ = try? transport.transmit(TPMCommand.flushContext(transient))
      throw error
    }
    // The persistent copy is what counts; the transient one would hold one of
    // a raw TPM's three object slots until reset.
    _ = try TPMResponse.parameters(
      transport.transmit(TPMCommand.flushContext(transient)), command: TPMConstant.ccFlushContext,
      sessions: false)
    return created
  }

  /// Evicts our key at `handle`; nothing there is fine, someone else's
  /// object is `.notOurKey`.
  public mutating func evict(_ handle: UInt32) throws(TPMError) {
    guard try occupant(handle) != nil else { return }
    _ = try TPMResponse.parameters(
      transport.transmit(TPMCommand.evictControl(object: handle, persistent: handle)),
      command: TPMConstant.ccEvictControl, sessions: true)
  }

  static func isOurs(_ key: TPMECCPublic) -> Bool {
    key.attributes == attributes && key.nameAlg == TPMConstant.algSHA256 && key.authPolicy.isEmpty
      && key.symmetric == TPMConstant.algNull && key.scheme == TPMConstant.algECDSA
      && key.schemeHash == TPMConstant.algSHA256 && key.curve == TPMConstant.eccNISTP256
      && key.kdf == TPMConstant.algNull
  }
}
