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
    }
  }
}
