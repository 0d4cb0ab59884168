/// `camera-agent attest --nonce NONCE --audience URL`: proves to the factory
/// station that this board holds the identity key the cloud registered.
/// Prints one line, a compact JWS shaped as an RFC 7523 client assertion
/// (ES256, `typ: JWT`): `iss` = `sub` = the device id, `aud` = the factory
/// verify URL, `jti` = the verifier's single-use challenge nonce, `iat` = the
/// board's clock, `exp` = `iat` + 300. Nothing is sent anywhere and the vault
/// is not changed.
///
/// Because the JWS has a client assertion's shape, an assertion for the
/// token endpoint or the issuer would log in as this device there (RFC 7523
/// §3: the server checks `aud`). So the only audience signed for is this
/// board's factory verify URL, `https://HOST/.../factory/devices/ID/verify`
/// (`AttestAudience`), never the configured issuer, and `iat` is the board's
/// own clock, which a station cannot set into the past or the future.
struct AttestCommand: VaultCommand {
  static let lifetime: Int64 = 300
  static let nonceLength = 16...128

  let nonce: String
  let audience: String

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    if ASCII.hasPrefixIgnoringCase(audience, "http://") && !config.allowInsecureHTTP {
      Console.err(
        "camera-agent: attest: an http:// audience needs allow_insecure_http = yes (development only)")
      return ExitCode.usage
    }
    guard
      let contents = VaultAccess.openProvisioned(
        &vault, unprovisioned: "attest: this board is not provisioned (run provision --device-id ID first)")
    else { return ExitCode.failure }
    if let refusal = AttestAudience.refusal(audience, deviceID: contents.deviceID, issuer: config.server) {
      Console.err("camera-agent: attest: \(refusal)")
      return ExitCode.dataError
    }
    let clock = ClockCorrection(clock: SystemWallClock())
    if !clock.systemClockIsSynced {
      Console.err(
        "camera-agent: attest: the board's clock reads before this firmware was built; set the clock first (the assertion's iat is the board's time)"
      )
      return ExitCode.failure
    }
    guard contents.hasIdentity else {
      Console.err("camera-agent: attest: the vault of \(contents.deviceID) holds no identity key")
      return ExitCode.failure
    }
    let assertion = ClientAssertion(
      clientID: contents.deviceID, audience: audience, issuedAt: clock.now(),
      lifetime: Self.lifetime, includesType: true, jti: nonce)
    var random = SystemRandom()
    do {
      let key = try config.identityKeyStorage.load(contents)
      Console.out(try assertion.signed(with: key, random: &random))
    } catch {
      Console.err("camera-agent: attest failed: identity key: \(error.description)")
      return ExitCode.failure
    }
    return ExitCode.ok
  }

  /// 16 to 128 characters of the base64url alphabet (`A-Z a-z 0-9 - _`), so
  /// the nonce is long enough to be unguessable and needs no escaping.
  static func isValidNonce(_ nonce: String) -> Bool {
    let bytes = Array(nonce.utf8)
    guard nonceLength.contains(bytes.count) else { return false }
    for byte in bytes {
      let ok =
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
      if !ok { return false }
    }
    return true
  }
}

extension Invocation {
  /// `attest`'s options. The audience's scheme is checked against
  /// `allow_insecure_http` later, once the configuration is read.
  static func parseAttest(_ rest: [String]) throws(UsageError) -> Command {
    var nonce: String? = nil
    var audience: String? = nil
    var index = 0
    while index < rest.count {
      let option = rest[index]
      if Word(option) == "--issued-at" {
        throw UsageError(message: "attest: --issued-at is not accepted: iat is the board's own clock")
      }
      guard Word(option) == "--nonce" || Word(option) == "--audience" else {
        throw UsageError(message: "attest: unknown option '\(option)'")
      }
      index += 1
      guard index < rest.count else { throw UsageError(message: "attest: \(option) needs a value") }
      let value = rest[index]
      switch Word(option) {
      case "--nonce":
        guard AttestCommand.isValidNonce(value) else {
          throw UsageError(message: "attest: invalid nonce (16-128 characters of A-Z a-z 0-9 - _)")
        }
        nonce = value
      case "--audience":
        do {
          try EndpointURL.validate(value, field: "audience", allowPlainHTTP: true, allowQuery: false)
        } catch {
          throw UsageError(message: "attest: \(error.description)")
        }
        audience = value
      default:
        break
      }
      index += 1
    }
    guard let nonce else { throw UsageError(message: "attest: --nonce is required") }
    guard let audience else { throw UsageError(message: "attest: --audience is required") }
    return .attest(nonce: nonce, audience: audience)
  }
}
