/// Why a configuration file was refused. Each names the file and line.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case syntax(path: String, line: Int, message: String)
  case unknownKey(path: String, line: Int, key: String)
  case duplicateKey(path: String, line: Int, key: String)
  case invalidValue(path: String, line: Int, key: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): return "\(path): cannot read configuration: \(reason)"
    case .syntax(let path, let line, let message): return "\(path):\(line): \(message)"
    case .unknownKey(let path, let line, let key): return "\(path):\(line): unknown key '\(key)'"
    case .duplicateKey(let path, let line, let key):
      return "\(path):\(line): '\(key)' is set twice"
    case .invalidValue(let path, let line, let key, let reason):
      return "\(path):\(line): \(key): \(reason)"
    }
  }
}
