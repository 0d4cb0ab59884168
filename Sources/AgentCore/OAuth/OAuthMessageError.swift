/// Why a message from the authorization server was not usable: the body is
/// not the JSON the RFC defines, a value breaks the rules the agent relies on
/// (https only, token syntax, bounds), or a header cannot be parsed. This is
/// the agent refusing a response, as opposed to `OAuthError`, which is the
/// server refusing a request.
public enum OAuthMessageError: Error, Equatable, CustomStringConvertible {
  /// The body is not JSON, or a member is missing or has the wrong type.
  case json(JSONError)
  /// A member is present with the right type but a value the agent refuses.
  case invalidValue(String, reason: String)
  /// RFC 8414 §3.3: the metadata names another issuer than the one configured,
  /// which could be an attacker substituting endpoints. `actual` is sanitized.
  case issuerMismatch(expected: String, actual: String)
  /// A header value cannot be parsed (which header, and why).
  case malformedHeader(String, reason: String)

  public var description: String {
    switch self {
    case .json(let error): return error.description
    case .invalidValue(let field, let reason): return "'\(field)' refused: \(reason)"
    case .issuerMismatch(let expected, let actual):
      return "metadata issuer '\(actual)' is not the configured issuer '\(expected)'"
    case .malformedHeader(let name, let reason): return "malformed \(name) header: \(reason)"
    }
  }
}
