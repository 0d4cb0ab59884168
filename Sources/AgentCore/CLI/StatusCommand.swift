/// `camera-agent status`: what the vault holds, as `key=value` lines. Secret
/// values are never shown: only whether they are present, and for the identity
/// key its public thumbprint and JWK (what the factory line registered).
struct StatusCommand: VaultCommand {
  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    let contents: VaultContents?
    do {
      contents = try vault.open()
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    Console.out("vault=\(config.vaultPath)")
    Console.out("key_source=\(config.keySource?.description ?? "unset")")
    guard let contents, let current = vault.current else {
      Console.out("state=unprovisioned")
      return ExitCode.ok
    }
    Console.out("state=provisioned")
    Console.out("device_id=\(contents.deviceID)")
    Console.out("generation=\(current.generation)")
    Console.out("slot=\(current.slot)")
    if let der = contents.identityKey {
      do {
        let key = try P256PrivateKey.fromDER(der)
        Console.out("identity_key=present")
        let jwk = PublicJWK(try key.publicKey())
        Console.out("identity_thumbprint=\(try jwk.thumbprint())")
        // The public half, so a factory station can register an already provisioned board.
        Console.out("identity_jwk=\(jwk.json)")
      } catch {
        Console.out("identity_key=unreadable")
      }
    } else {
      Console.out("identity_key=absent")
    }
    Console.out("dpop_key=\(contents.dpopKey == nil ? "absent" : "present")")
    Console.out("access_token=\(contents.accessToken == nil ? "absent" : "present")")
    if let expiry = contents.accessTokenExpiry { Console.out("access_token_expires=\(expiry)") }
    Console.out("refresh_token=\(contents.refreshToken == nil ? "absent" : "present")")
    if let issuer = contents.sessionIssuer {
      Console.out("session_issuer=\(LogSafeText.sanitize(issuer, limit: 200))")
    }
    if let api = contents.sessionAPIBase {
      Console.out("session_api_base=\(LogSafeText.sanitize(api, limit: 200))")
    }
    if let at = contents.lastActivation { Console.out("last_activation=\(at)") }
    if let at = contents.provisionedAt { Console.out("provisioned_at=\(at)") }
    if let floor = contents.timeFloor { Console.out("time_floor=\(floor)") }
    for reason in vault.skipped { Console.out("skipped=\(reason)") }
    return ExitCode.ok
  }
}
