/// What `camera-agent status` shows: the vault's contents without a secret
/// value (whether each secret is present; the identity key's public half and
/// thumbprint, which the factory line registered). Two renderings of the same
/// fields: `key=value` lines for people and scripts, and one JSON object
/// (`status --json`) for integrators and the factory station.
///
/// The words are the vault's, not the session's: `vault=provisioned` or
/// `vault=unprovisioned`. The session state (`active`, `reauth_pending`, ...)
/// is the daemon's and is published only by the daemon (state file, hook,
/// `STATUS=`), so the two can never disagree under the same name.
///
/// JSON schema 1 (members in this order; absent optional members omitted):
///
///     {"schema":1,"vault":"provisioned"|"unprovisioned","vault_path":STRING,
///      "key_source":STRING,"anti_rollback":STRING,"device_id":STRING,"generation":INT,"slot":INT,
///      "identity_key":"present"|"absent"|"unreadable","identity_store":"software"|"tpm2",
///      "identity_thumbprint":STRING,
///      "identity_jwk":{"crv":"P-256","kty":"EC","x":STRING,"y":STRING},
///      "dpop_key":"present"|"absent","access_token":"present"|"absent",
///      "access_token_expires":INT,"refresh_token":"present"|"absent",
///      "session_issuer":STRING,"session_api_base":STRING,
///      "last_activation":INT,"provisioned_at":INT,"time_floor":INT,
///      "rollback_counter":INT,"rollback_increment_pending":"yes","skipped":[STRING,...]}
///
/// `identity_store` says where the identity key is (`IdentityKeyStorage`),
/// whenever there is one. `anti_rollback` (`tpm:PATH`) appears only when the vault is bound to a
/// counter, `rollback_counter` (the value the current record was written
/// with) then only when provisioned, and `rollback_increment_pending` only
/// while the record is one ahead of the counter (the daemon, as the owner,
/// finishes it). `device_id` to `provisioned_at` appear only when provisioned; times are
/// seconds since the epoch; `skipped` (always present) lists slots that were
/// passed over and why.
struct VaultStatus {
  static let schema: Int64 = 1

  enum Value {
    case text(String)
    case number(Int64)
    /// A generation read from flash: the full range, never trapped on.
    case unsigned(UInt64)
    case jwk(PublicJWK)
  }

  /// The fields in order; `skipped` is kept apart (it repeats).
  var fields: [(String, Value)] = []
  var skipped: [String] = []

  init<S: SlotStore>(vault: Vault<S>, contents: VaultContents?, config: AgentConfig) {
    fields.append(("vault", .text(contents == nil || vault.current == nil ? "unprovisioned" : "provisioned")))
    fields.append(("vault_path", .text(config.vaultPath)))
    fields.append(("key_source", .text(config.keySource?.description ?? "unset")))
    if vault.isBound, let path = config.antiRollbackTPM {
      fields.append(("anti_rollback", .text("tpm:\(path)")))
    }
    skipped = vault.skipped
    guard let contents, let current = vault.current else { return }
    fields.append(("device_id", .text(contents.deviceID)))
    fields.append(("generation", .unsigned(current.generation)))
    fields.append(("slot", .number(Int64(current.slot))))
    if let store = IdentityKeyStorage.kind(of: contents) {
      do {
        // A TPM key is loaded through the TPM for its public half: no
        // private byte is read, and a TPM that is gone shows as unreadable.
        let jwk = PublicJWK(try config.identityKeyStorage.load(contents).publicKey())
        let thumbprint = try jwk.thumbprint()
        fields.append(("identity_key", .text("present")))
        fields.append(("identity_store", .text(store)))
        fields.append(("identity_thumbprint", .text(thumbprint)))
        fields.append(("identity_jwk", .jwk(jwk)))
      } catch {
        fields.append(("identity_key", .text("unreadable")))
        fields.append(("identity_store", .text(store)))
      }
    } else {
      fields.append(("identity_key", .text("absent")))
    }
    fields.append(("dpop_key", .text(contents.dpopKey == nil ? "absent" : "present")))
    fields.append(("access_token", .text(contents.accessToken == nil ? "absent" : "present")))
    if let expiry = contents.accessTokenExpiry { fields.append(("access_token_expires", .number(expiry))) }
    fields.append(("refresh_token", .text(contents.refreshToken == nil ? "absent" : "present")))
    if let issuer = contents.sessionIssuer {
      fields.append(("session_issuer", .text(LogSafeText.sanitize(issuer, limit: 200))))
    }
    if let api = contents.sessionAPIBase {
      fields.append(("session_api_base", .text(LogSafeText.sanitize(api, limit: 200))))
    }
    if let at = contents.lastActivation { fields.append(("last_activation", .number(at))) }
    if let at = contents.provisionedAt { fields.append(("provisioned_at", .number(at))) }
    if let floor = contents.timeFloor { fields.append(("time_floor", .number(floor))) }
    if vault.isBound, let value = contents.rollbackCounter {
      fields.append(("rollback_counter", .unsigned(value)))
      if vault.counterIncrementPending { fields.append(("rollback_increment_pending", .text("yes"))) }
    }
  }

  /// `key=value` lines, `skipped=` once per skipped slot.
  var lines: [String] {
    var lines: [String] = []
    for (key, value) in fields {
      switch value {
      case .text(let text): lines.append("\(key)=\(text)")
      case .number(let number): lines.append("\(key)=\(number)")
      case .unsigned(let number): lines.append("\(key)=\(number)")
      case .jwk(let jwk): lines.append("\(key)=\(jwk.json)")
      }
    }
    for reason in skipped { lines.append("skipped=\(reason)") }
    return lines
  }

  /// One line of JSON, schema 1 above.
  var json: String {
    var writer = JSONWriter()
    writer.beginObject()
    writer.member("schema", Self.schema)
    for (key, value) in fields {
      switch value {
      case .text(let text): writer.member(key, text)
      case .number(let number): writer.member(key, number)
      case .unsigned(let number):
        writer.key(key)
        writer.unsigned(number)
      case .jwk(let jwk):
        writer.key(key)
        jwk.writeObject(into: &writer)
      }
    }
    writer.key("skipped")
    writer.beginArray()
    for reason in skipped { writer.string(reason) }
    writer.endArray()
    writer.endObject()
    return writer.text
  }
}
