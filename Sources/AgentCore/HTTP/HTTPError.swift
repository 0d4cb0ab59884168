/// Why an HTTP exchange produced no usable response.
public enum HTTPError: Error, Equatable, CustomStringConvertible {
  /// The URL is not absolute, or uses a scheme the policy does not allow.
  case urlRefused(String)
  /// The server's certificate did not chain to the configured CA or did not match the host.
  case certificateRejected(String)
  /// The TLS handshake failed for another reason (protocol version, cipher, ...).
  case tls(String)
  /// DNS, refused or unreachable connection.
  case connect(String)
  case timedOut
  /// The body exceeded the configured cap; the transfer was aborted.
  case responseTooLarge(limit: Int)
  /// The server answered with a redirect; redirects are never followed.
  case redirectRefused(status: Int, location: String)
  /// Any other libcurl failure (its CURLcode and message).
  case transport(code: Int, message: String)

  public var description: String {
    switch self {
    case .urlRefused(let why): return "URL refused: \(why)"
    case .certificateRejected(let why): return "server certificate rejected: \(why)"
    case .tls(let why): return "TLS failure: \(why)"
    case .connect(let why): return "cannot connect: \(why)"
    case .timedOut: return "timed out"
    case .responseTooLarge(let limit): return "response larger than \(limit) bytes, aborted"
    case .redirectRefused(let status, let location):
      return "redirect (\(status)) to \(location) not followed"
    case .transport(let code, let message): return "transport error \(code): \(message)"
    }
  }
}
