/// Why a JSON document was refused, or why a field of a parsed document could
/// not be read as the protocol requires. Syntax errors carry the byte offset of
/// the problem, so a capture of a bad server response can be diagnosed; none
/// of them repeats the offending text, because a response may hold tokens.
public enum JSONError: Error, Equatable, CustomStringConvertible {
  /// The input is longer than the caller's limit; nothing was parsed.
  case tooLarge(size: Int, limit: Int)
  /// The text is not JSON: what the parser expected at `offset`.
  case syntax(offset: Int, expected: String)
  /// A string literal breaks RFC 8259 §7 (raw control character, bad escape,
  /// unpaired surrogate) or the input is not UTF-8 (RFC 8259 §8.1).
  case invalidString(offset: Int, reason: String)
  /// Arrays and objects nest deeper than the limit (the opening bracket's offset).
  case tooDeep(offset: Int, limit: Int)
  /// One array or object has more members than the limit.
  case tooManyMembers(offset: Int, limit: Int)
  /// An object names the same member twice (RFC 8259 §4 leaves the meaning
  /// open; two readers could pick different values, so it is refused).
  case duplicateKey(offset: Int)
  /// A required member is absent.
  case missing(String)
  /// A member has another type than the protocol defines.
  case wrongType(String, expected: JSONValue.Kind)

  public var description: String {
    switch self {
    case .tooLarge(let size, let limit): return "JSON text of \(size) bytes exceeds the limit of \(limit)"
    case .syntax(let offset, let expected): return "JSON syntax error at byte \(offset): expected \(expected)"
    case .invalidString(let offset, let reason): return "invalid JSON string at byte \(offset): \(reason)"
    case .tooDeep(let offset, let limit): return "JSON nested deeper than \(limit) at byte \(offset)"
    case .tooManyMembers(let offset, let limit):
      return "JSON container at byte \(offset) has more than \(limit) members"
    case .duplicateKey(let offset): return "duplicate JSON object key at byte \(offset)"
    case .missing(let field): return "missing member '\(field)'"
    case .wrongType(let field, let expected): return "member '\(field)' is not \(expected.description)"
    }
  }
}
