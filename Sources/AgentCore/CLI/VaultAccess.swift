/// Opens the configured vault and hands it to a command. Commands are generic
/// over the store, so this is the one place that knows the backends.
protocol VaultCommand {
  /// True for a command that writes the vault: it runs only as the vault's
  /// owner (`Vault.takeOwnership`), so it never races the daemon.
  static var changesVault: Bool { get }
  mutating func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32
}

extension VaultCommand {
  /// Readers (`status`, `attest`, `report --dry-run`) work beside the daemon.
  static var changesVault: Bool { false }
}

enum VaultAccess {
  /// Opens the vault for a command that needs a provisioned board: its
  /// contents, or nil once the reason is on stderr (a vault that does not
  /// open, or `camera-agent: ` + `unprovisioned` for an empty one). The
  /// command then exits 1.
  static func openProvisioned<S: SlotStore>(_ vault: inout Vault<S>, unprovisioned: String) -> VaultContents?
  {
    let contents: VaultContents?
    do {
      contents = try vault.open()
    } catch {
      Console.err("camera-agent: \(error.description)")
      return nil
    }
    if contents == nil { Console.err("camera-agent: \(unprovisioned)") }
    return contents
  }

  /// Takes the vault for a command that changes it: nil once taken, else
  /// the exit status, the reason on stderr and nothing changed
  /// (`ExitCode.busy` when another process owns it).
  static func takeOwnership<S: SlotStore>(_ vault: inout Vault<S>) -> Int32? {
    do {
      try vault.takeOwnership()
      return nil
    } catch .store(.busy(let holder)) {
      let who = holder > 0 ? "the daemon is running (pid \(holder))" : "the daemon is running"
      Console.err("camera-agent: \(who) and owns the vault: stop it first; nothing was changed")
      return ExitCode.busy
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
  }

  /// The configured anti-rollback counter (nil: none configured), or the
  /// exit status once the reason is on stderr. Not generic, so the binary
  /// holds one copy, not one per command.
  static func openCounter(_ config: AgentConfig) -> (counter: DeviceTPMCounter?, refused: Int32?) {
    guard let path = config.antiRollbackTPM else { return (nil, nil) }
    #if CAMERA_AGENT_NO_SECURE_ELEMENT
      // AgentConfig refuses the setting in such a build; never run unbound.
      Console.err("camera-agent: anti_rollback = tpm:\(path): this build has no TPM support")
      return (nil, ExitCode.config)
    #else
      do {
        return (try DeviceTPMCounter(path: path), nil)
      } catch {
        Console.err("camera-agent: anti_rollback = tpm:\(path): \(error.description)")
        return (nil, ExitCode.failure)
      }
    #endif
  }

  static func run<C: VaultCommand>(_ command: inout C, config: AgentConfig) -> Int32 {
    guard let source = config.keySource else {
      Console.err("camera-agent: key_source is not set in the configuration; refusing to touch the vault")
      return ExitCode.config
    }
    if source.isDevelopment {
      Console.err(
        "camera-agent: WARNING: key_source = development: the vault key is PUBLIC and protects NOTHING. "
          + "Never ship a camera configured like this.")
    }
    let hardwareKey: SecretBytes
    do {
      hardwareKey = try source.load()
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    // The counter is opened before the vault: a board configured for one
    // never runs without it (no silent fallback to an unbound vault).
    let (counter, refused) = openCounter(config)
    if let refused { return refused }
    switch config.vaultBackend {
    case .file:
      var vault = Vault(
        store: FileSlotStore(directory: config.vaultPath), hardwareKey: hardwareKey, counter: counter)
      if C.changesVault, let refused = takeOwnership(&vault) { return refused }
      let code = command.run(&vault, config: config)
      // Root-run commands (the factory console) leave the vault to the
      // service user (vault_owner), whatever they did to it.
      do throws(VaultOwnership.Failure) {
        try VaultOwnership.apply(config)
      } catch {
        Console.err("camera-agent: \(error.description)")
        return code == ExitCode.ok ? ExitCode.failure : code
      }
      return code
    case .mtd:
      let device: MTDFlash
      do {
        device = try MTDFlash(path: config.vaultPath)
      } catch {
        Console.err("camera-agent: \(error.description)")
        return ExitCode.failure
      }
      let store: FlashSlotStore<MTDFlash>
      do {
        store = try FlashSlotStore(device: device)
      } catch {
        Console.err("camera-agent: \(error.description)")
        return ExitCode.failure
      }
      var vault = Vault(store: store, hardwareKey: hardwareKey, counter: counter)
      if C.changesVault, let refused = takeOwnership(&vault) { return refused }
      return command.run(&vault, config: config)
    }
  }
}
