/// JWS compact serialization (RFC 7515 §7.1) with ES256 (RFC 7518 §3.4), the
/// only algorithm the agent signs with: DPoP proofs and client assertions.
public enum JWS {
  /// `BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)`.
  /// `header` and `payload` are the exact JSON bytes (from `JSONWriter`); they
  /// are signed as given, so what a verifier decodes is what was built.
  public static func signES256(
    header: [UInt8], payload: [UInt8], key: P256PrivateKey
  ) throws(CryptoError) -> String {
    let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
    // ES256 signatures are r||s, 32 bytes each (RFC 7518 §3.4), not DER.
    let signature = try key.signES256(Array(signingInput.utf8))
    return signingInput + "." + Base64URL.encode(signature)
  }
}
