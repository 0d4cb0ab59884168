/// A parsed JSON value (RFC 8259). Produced by `JSONReader`; the protocol
/// code reads it through the typed getters of `JSONObject`, which turn a
/// missing or mistyped member into a `JSONError` naming the field.
public enum JSONValue: Equatable {
  case null
  case bool(Bool)
  case number(JSONNumber)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// The JSON type, for error messages. A number is `.integer` when it
  /// converts to `Int64` exactly.
  public enum Kind: Equatable, Sendable, CustomStringConvertible {
    case null
    case boolean
    case integer
    case number
    case string
    case array
    case object

    public var description: String {
      switch self {
      case .null: return "null"
      case .boolean: return "a boolean"
      case .integer: return "an integer"
      case .number: return "a number"
      case .string: return "a string"
      case .array: return "an array"
      case .object: return "an object"
      }
    }
  }

  public var kind: Kind {
    switch self {
    case .null: return .null
    case .bool: return .boolean
    case .number(let number): return number.int64 == nil ? .number : .integer
    case .string: return .string
    case .array: return .array
    case .object: return .object
    }
  }

  /// The member `key` when this is an object that has it.
  public subscript(key: String) -> JSONValue? {
    if case .object(let object) = self { return object[key] }
    return nil
  }

  public var string: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// The value when it is a number that is exactly an `Int64`.
  public var int: Int64? {
    if case .number(let number) = self { return number.int64 }
    return nil
  }

  public var bool: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  public var array: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  public var object: JSONObject? {
    if case .object(let value) = self { return value }
    return nil
  }

  public var isNull: Bool { self == .null }
}

/// A JSON number kept as its validated text, so a document with a fraction or
/// an exponent in a member the agent ignores still parses, and no
/// floating-point conversion (`Double(String)` does not link in Embedded
/// Swift) is ever needed. `int64` is the value when it is an integer that
/// fits: `3600` and `3600.0` do, `1e3`, `0.5` and `2^63` do not.
public struct JSONNumber: Equatable {
  public let text: String
  public let int64: Int64?

  public init(text: String, int64: Int64?) {
    self.text = text
    self.int64 = int64
  }
}

/// A JSON object with its members in document order. Keys are unique (the
/// reader refuses duplicates) and compared byte for byte, without Unicode
/// normalization, as RFC 8259 §8.3 describes.
public struct JSONObject: Equatable {
  public struct Member: Equatable {
    public let key: String
    public let value: JSONValue

    public init(key: String, value: JSONValue) {
      self.key = key
      self.value = value
    }
  }

  public let members: [Member]

  public init(members: [Member]) { self.members = members }

  public var count: Int { members.count }

  public subscript(key: String) -> JSONValue? {
    for member in members where member.key.utf8.elementsEqual(key.utf8) {
      return member.value
    }
    return nil
  }

  /// A member the protocol requires to be a string.
  public func requiredString(_ key: String) throws(JSONError) -> String {
    guard let value = self[key] else { throw .missing(key) }
    guard let string = value.string else { throw .wrongType(key, expected: .string) }
    return string
  }

  /// An optional string member; an explicit `null` counts as absent, as
  /// servers serializing an unset field commonly write it.
  public func optionalString(_ key: String) throws(JSONError) -> String? {
    guard let value = self[key], !value.isNull else { return nil }
    guard let string = value.string else { throw .wrongType(key, expected: .string) }
    return string
  }

  public func requiredInt(_ key: String) throws(JSONError) -> Int64 {
    guard let value = self[key] else { throw .missing(key) }
    guard let int = value.int else { throw .wrongType(key, expected: .integer) }
    return int
  }

  /// An optional integer member; `null` counts as absent.
  public func optionalInt(_ key: String) throws(JSONError) -> Int64? {
    guard let value = self[key], !value.isNull else { return nil }
    guard let int = value.int else { throw .wrongType(key, expected: .integer) }
    return int
  }

  public func requiredBool(_ key: String) throws(JSONError) -> Bool {
    guard let value = self[key] else { throw .missing(key) }
    guard let bool = value.bool else { throw .wrongType(key, expected: .boolean) }
    return bool
  }

  /// An optional array of strings (metadata lists such as
  /// `dpop_signing_alg_values_supported`); `null` counts as absent.
  public func optionalStringArray(_ key: String) throws(JSONError) -> [String]? {
    guard let value = self[key], !value.isNull else { return nil }
    guard let array = value.array else { throw .wrongType(key, expected: .array) }
    var out: [String] = []
    out.reserveCapacity(array.count)
    for element in array {
      guard let string = element.string else { throw .wrongType(key, expected: .string) }
      out.append(string)
    }
    return out
  }

  public func requiredObject(_ key: String) throws(JSONError) -> JSONObject {
    guard let value = self[key] else { throw .missing(key) }
    guard let object = value.object else { throw .wrongType(key, expected: .object) }
    return object
  }
}
