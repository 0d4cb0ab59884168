/// Sends one request and returns its response. The agent's protocol code is
/// generic over this, so it runs against libcurl on a board, an in-memory
/// peer in unit tests, and a simulated cloud in the fleet simulation.
public protocol HTTPTransport {
  mutating func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse
}

/// What every connection to the cloud must satisfy.
public struct HTTPPolicy {
  /// PEM bundle the server certificate must chain to; the system store is not used.
  public var caFile: String
  public var connectTimeoutMs: Int
  public var totalTimeoutMs: Int
  public var maxResponseBytes: Int
  /// Development only: allows `http://` URLs.
  public var allowPlainHTTP: Bool

  public init(
    caFile: String, connectTimeoutMs: Int = 10_000, totalTimeoutMs: Int = 30_000,
    maxResponseBytes: Int = 64 * 1024, allowPlainHTTP: Bool = false
  ) {
    self.caFile = caFile
    self.connectTimeoutMs = connectTimeoutMs
    self.totalTimeoutMs = totalTimeoutMs
    self.maxResponseBytes = maxResponseBytes
    self.allowPlainHTTP = allowPlainHTTP
  }
}
