/// `camera-agent attest --nonce NONCE --audience URL [--issued-at SECONDS]`:
/// proves to the factory station that this board holds the identity key the
/// cloud registered. Prints one line, a compact JWS shaped as an RFC 7523
/// client assertion (ES256, `typ: JWT`): `iss` = `sub` = the device id, `aud`
/// = the verifier's URL, `jti` = the verifier's single-use challenge nonce,
/// `exp` = `iat` + 300. Nothing is sent anywhere and the vault is not changed.
struct AttestCommand: VaultCommand {
  static let lifetime: Int64 = 300
  static let nonceLength = 16...128
  /// `--issued-at` bounds: 2001-09-09 to 2096-10-02, so a typo cannot sign an
  /// assertion for 1970 or the far future.
  static let issuedAtRange: ClosedRange<Int64> = 1_000_000_000...4_000_000_000

  let nonce: String
  let audience: String
  /// The verifier's clock (the station passes the cloud's `Date`): a board
  /// fresh from the line often has not synced its clock yet. nil = this
  /// board's clock.
  let issuedAt: Int64?

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
    guard let der = contents.identityKey else {
      Console.err("camera-agent: attest: the vault of \(contents.deviceID) holds no identity key")
      return ExitCode.failure
    }
    let assertion = ClientAssertion(
      clientID: contents.deviceID, audience: audience, issuedAt: issuedAt ?? SystemWallClock().seconds(),
      lifetime: Self.lifetime, includesType: true, jti: nonce)
    var random = SystemRandom()
    do {
      let key = try P256PrivateKey.fromDER(der)
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
    var issuedAt: Int64? = nil
    var index = 0
    while index < rest.count {
      let option = rest[index]
      guard option == "--nonce" || option == "--audience" || option == "--issued-at" else {
        throw UsageError(message: "attest: unknown option '\(option)'")
      }
      index += 1
      guard index < rest.count else { throw UsageError(message: "attest: \(option) needs a value") }
      let value = rest[index]
      switch option {
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
        guard let seconds = Int64(value), AttestCommand.issuedAtRange.contains(seconds) else {
          throw UsageError(
            message: "attest: --issued-at must be whole seconds since the epoch, 1000000000 to 4000000000")
        }
        issuedAt = seconds
      }
      index += 1
    }
    guard let nonce else { throw UsageError(message: "attest: --nonce is required") }
    guard let audience else { throw UsageError(message: "attest: --audience is required") }
    return .attest(nonce: nonce, audience: audience, issuedAt: issuedAt)
  }
}
