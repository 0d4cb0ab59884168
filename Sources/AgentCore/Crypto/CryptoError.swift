import CAgentSys

/// Failures of the cryptographic layer. Messages never contain key material.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
  /// The ciphertext, tag, nonce or associated data were modified, or the key is wrong.
  case authenticationFailed
  /// A signature did not verify.
  case invalidSignature
  /// An input had the wrong length or encoding (which input, and why).
  case invalidInput(String)
  /// OpenSSL reported an error in the named operation.
  case openssl(String)
  /// The private key lives in a secure element and never leaves it.
  case notExportable

  public var description: String {
    switch self {
    case .authenticationFailed: return "authentication failed (data modified or wrong key)"
    case .invalidSignature: return "signature does not verify"
    case .invalidInput(let what): return "invalid input: \(what)"
    case .openssl(let what): return "OpenSSL error in \(what)"
    case .notExportable: return "the private key lives in a secure element and cannot be exported"
    }
  }

  /// Builds an `.openssl` error for `operation` with OpenSSL's first queued reason.
  static func fromQueue(_ operation: String) -> CryptoError {
    let code = ca_err_get()
    ca_err_clear()
    guard code != 0 else { return .openssl(operation) }
    var buffer = [CChar](repeating: 0, count: 256)
    ca_err_string(code, &buffer, buffer.count)
    let reason = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return .openssl("\(operation): \(reason)")
  }
}
