/// Why a configuration file was refused. Each names the file and line.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case syntax(path: String, line: Int, message: String)
  case unknownKey(path: String, line: Int, key: String)
  case duplicateKey(path: String, line: Int, key: String)
  case invalidValue(path: String, line: Int, key: String, reason: String)

  /// A key or value quoted back from the file: the file may hold anything
  /// (escape sequences, a 60 KB line), so a quote is printable and short.
  static func quoted(_ text: String) -> String { LogSafeText.sanitize(text, limit: 64) }

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): return "\(path): cannot read configuration: \(reason)"
    case .syntax(let path, let line, let message): return "\(path):\(line): \(message)"
    case .unknownKey(let path, let line, let key): return "\(path):\(line): unknown key '\(Self.quoted(key))'"
    case .duplicateKey(let path, let line, let key):
      return "\(path):\(line): '\(Self.quoted(key))' is set twice"
    case .invalidValue(let path, let line, let key, let reason):
      return "\(path):\(line): \(Self.quoted(key)): \(reason)"
    }
  }
}
