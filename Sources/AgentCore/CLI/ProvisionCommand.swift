import CAgentSys

/// `camera-agent provision --device-id ID [--force]`: makes the identity key
/// (in the vault, or inside the TPM with `identity_key = tpm2`) and prints
/// its public half for the factory line. With
/// `--force` the old identity is destroyed: the older slot is erased once the
/// new record is durable. Refused (exit 75) while the daemon runs.
struct ProvisionCommand: VaultCommand {
  static var changesVault: Bool { true }
  let deviceID: String
  let force: Bool

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    var previous: VaultContents? = nil
    do {
      if let existing = try vault.open() {
        previous = existing
        guard force else {
          Console.err(
            "camera-agent: already provisioned as \(existing.deviceID) "
              + "(generation \(vault.current?.generation ?? 0)); use --force to make a new identity")
          return ExitCode.alreadyProvisioned
        }
      }
    } catch .noValidRecord(let reasons) {
      guard force else {
        Console.err(
          "camera-agent: "
            + VaultError.noValidRecord(reasons).description
            + "; nothing was changed (use --force to replace it)")
        return ExitCode.failure
      }
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    var contents = VaultContents(deviceID: deviceID)
    let jwk: PublicJWK
    let thumbprint: String
    do {
      // Software: the DER goes into the vault. tpm2: the key is made in the
      // TPM (at the handle the previous identity does not use) and only its
      // handle and authValue go into the vault.
      let identity = try config.identityKeyStorage.generate(into: &contents, replacing: previous)
      jwk = PublicJWK(try identity.publicKey())
      thumbprint = try jwk.thumbprint()
    } catch {
      Console.err(
        "camera-agent: provision failed: identity key (identity_key = \(config.identityKeyStorage.description)): "
          + "\(error.description); the previous vault state is unchanged")
      return ExitCode.failure
    }
    contents.provisionedAt = ca_wall_seconds()
    var random = SystemRandom()
    do {
      if force && vault.current == nil {
        // A vault that could not be opened is replaced: clear both slots first so
        // the new record does not compete with undecryptable ones.
        try vault.wipe()
      }
      let outcome = try vault.commit(contents, random: &random)
      if case .committedDestroyPending(let why) = outcome {
        // The new identity is in place; exiting 1 would make a station retry with yet another one.
        Console.err(
          "camera-agent: warning: the previous identity's record could not be erased (\(why)); "
            + "run provision --force again before the board leaves the line")
      }
    } catch {
      Console.err(
        "camera-agent: provision failed: \(error.description); the previous vault state is unchanged")
      return ExitCode.failure
    }
    do {
      // Only now, with the new record durable, may the old TPM key go.
      try config.identityKeyStorage.retire(keeping: contents)
    } catch {
      Console.err(
        "camera-agent: warning: \(error.description); the new identity is in place, "
          + "run provision --force again before the board leaves the line")
    }
    var writer = JSONWriter()
    writer.beginObject()
    writer.member("device_id", deviceID)
    writer.key("jwk")
    jwk.writeObject(into: &writer)
    writer.member("thumbprint", thumbprint)
    writer.endObject()
    Console.out(writer.text)
    return ExitCode.ok
  }
}
