import CAgentSys

/// P-256 keys whose private half lives in a `KeyElement`. They sign, give
/// their public key, JWK and thumbprint like software keys; their export
/// (`derRepresentation()`) throws `.notExportable`; what persists is their
/// `KeyReference`.
extension P256PrivateKey {
  /// Generates a P-256 key inside the element: the private half is created
  /// there and never leaves it.
  public static func generate(in element: KeyElement) throws(CryptoError) -> P256PrivateKey {
    guard let key = ca_p256_generate_in(element.context, element.provider) else {
      throw CryptoError.fromQueue("P-256 key generation in \(element.provider)")
    }
    return P256PrivateKey(elementHandle: key, element: element)
  }

  /// Loads a key from its reference through `element`'s provider only. The
  /// reference is untrusted (it comes from the vault): a reference for
  /// another provider, garbage or a truncated blob throws `.invalidInput`.
  public static func load(
    _ reference: KeyReference, in element: KeyElement
  ) throws(CryptoError) -> P256PrivateKey {
    guard Word(reference.provider) == Word(element.provider) else {
      throw .invalidInput("key reference is for provider \(reference.provider)")
    }
    let loaded: OpaquePointer?
    switch reference {
    case .wrapped(_, let bytes):
      guard !bytes.isEmpty, bytes.count <= KeyReference.maximumLength else {
        throw .invalidInput("key reference length")
      }
      loaded = bytes.withUnsafeBufferPointer { buffer in
        ca_pkey_decode_reference(element.context, element.provider, buffer.baseAddress, buffer.count)
      }
    case .uri(_, let uri):
      guard !uri.isEmpty, uri.utf8.count <= 1024, !uri.utf8.contains(0) else {
        throw .invalidInput("key URI")
      }
      loaded = ca_pkey_load_uri(element.context, element.provider, uri, nil, 0)
    case .persistent(_, let handle, let authValue):
      loaded = authValue.withUnsafeBufferPointer { auth in
        ca_pkey_load_uri(
          element.context, element.provider, KeyReference.handleURI(handle), auth.baseAddress, auth.count)
      }
    }
    guard let loaded else {
      // The queue names the provider's reason (e.g. "cannot load key"); the
      // error says what failed without echoing the reference's bytes.
      let reason = CryptoError.fromQueue("loading a \(element.provider) key")
      throw .invalidInput("not a P-256 key of \(element.provider) (\(reason))")
    }
    return P256PrivateKey(elementHandle: loaded, element: element)
  }

  /// The reference the vault can hold for this key. A software key has none
  /// (its persistent form is `derRepresentation()`), so it throws.
  public func reference() throws(CryptoError) -> KeyReference {
    guard let element else { throw .invalidInput("a software key has no element reference") }
    var buffer = [UInt8](repeating: 0, count: KeyReference.maximumLength)
    let length = buffer.withUnsafeMutableBufferPointer { out in
      ca_pkey_encode_reference(handle, element.provider, out.baseAddress, out.count)
    }
    guard length > 0 else { throw CryptoError.fromQueue("\(element.provider) key reference") }
    return .wrapped(provider: element.provider, bytes: Array(buffer[0..<length]))
  }
}
