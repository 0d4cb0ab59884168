/// A JSON object (a token response) whose secret members were decoded
/// straight into `SecretBytes` by `JSONReader.parseObject(_:secretMembers:)`.
/// `object` has every member, a secret one as an empty string.
public struct JSONSecretObject {
  public struct Member {
    public let key: String
    public let value: SecretBytes
  }

  public let object: JSONObject
  let secrets: [Member]

  init(object: JSONObject, secrets: [Member]) {
    self.object = object
    self.secrets = secrets
  }

  /// A secret member the protocol requires: missing or not a string throws.
  public func requiredSecret(_ key: String) throws(JSONError) -> SecretBytes {
    guard let secret = try optionalSecret(key) else { throw .missing(key) }
    return secret
  }

  /// An optional secret member; an explicit `null` counts as absent (as in
  /// `JSONObject.optionalString`).
  public func optionalSecret(_ key: String) throws(JSONError) -> SecretBytes? {
    guard let value = object[key], !value.isNull else { return nil }
    for secret in secrets where secret.key.utf8.elementsEqual(key.utf8) { return secret.value }
    // Present, not null, and not decoded as a secret: it was not a string
    // (or the key was not declared secret).
    throw .wrongType(key, expected: .string)
  }
}
