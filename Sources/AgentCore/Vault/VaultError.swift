/// Why the vault could not be opened or written. Never carries secret bytes.
public enum VaultError: Error, Equatable, CustomStringConvertible {
  case store(StoreError)
  case keySource(String)
  /// Records exist but none opens: made on another board, the key source
  /// changed, or every copy is damaged. Nothing was overwritten.
  case noValidRecord([String])
  /// The decrypted record is not a format this agent understands.
  case malformedContents(String)
  case crypto(CryptoError)
  /// The record would exceed the store's slot capacity.
  case tooLarge(size: Int, capacity: Int)
  /// The anti-rollback counter could not be read or incremented.
  case antiRollback(TPMError)
  /// The newest record was written at counter value `recorded`, but the
  /// counter holds `counter`: an older image of the flash (a rollback), or a
  /// vault from another TPM. Nothing was changed.
  case rolledBack(recorded: UInt64, counter: UInt64)
  /// The newest record carries no counter value on a vault bound to one.
  case unbound(counter: UInt64)

  public var description: String {
    switch self {
    case .store(let error): return "vault storage: \(error.description)"
    case .keySource(let why): return "vault key source: \(why)"
    case .noValidRecord(let reasons):
      var text =
        "vault holds records but none can be opened (made on another board, key source changed, or damaged)"
      for reason in reasons { text += "; " + reason }
      return text
    case .malformedContents(let why): return "vault record contents malformed: \(why)"
    case .crypto(let error): return "vault crypto: \(error.description)"
    case .tooLarge(let size, let capacity):
      return "vault record of \(size) bytes exceeds slot capacity \(capacity)"
    case .antiRollback(let error): return "vault anti-rollback counter: \(error.description)"
    case .rolledBack(let recorded, let counter):
      return
        "vault record was written at anti-rollback count \(recorded) but the counter is at \(counter): "
        + "an older copy of the flash or another board's TPM; refused, nothing changed (re-provision to recover)"
    case .unbound(let counter):
      return
        "vault record carries no anti-rollback count but the board's counter is at \(counter): "
        + "written without anti_rollback, or by older firmware; refused, nothing changed (re-provision to recover)"
    }
  }
}
