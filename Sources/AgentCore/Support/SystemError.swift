import CAgentSys

/// A failed system call: what was attempted and the errno it returned.
public struct SystemError: Error, Equatable, CustomStringConvertible {
  public let operation: String
  public let errno: Int32

  public init(_ operation: String, errno: Int32) {
    self.operation = operation
    self.errno = errno
  }

  /// Captures the current errno for `operation`.
  public static func last(_ operation: String) -> SystemError {
    SystemError(operation, errno: ca_errno())
  }

  public var description: String {
    guard let message = strerror(errno) else { return "\(operation): errno \(errno)" }
    return "\(operation): \(String(cString: message))"
  }
}
