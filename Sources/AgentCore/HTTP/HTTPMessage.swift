public struct HTTPHeader: Equatable {
  public var name: String
  public var value: String

  public init(_ name: String, _ value: String) {
    self.name = name
    self.value = value
  }
}

public enum HTTPMethod: Equatable {
  case get
  case post

  public var token: String {
    switch self {
    case .get: return "GET"
    case .post: return "POST"
    }
  }
}

public struct HTTPRequest {
  public var method: HTTPMethod
  public var url: String
  public var headers: [HTTPHeader]
  public var body: [UInt8]
  /// When the server certificate is judged; nil: the system clock, exactly.
  public var certificateCheckTime: CertificateCheckTime?

  public init(
    method: HTTPMethod, url: String, headers: [HTTPHeader] = [], body: [UInt8] = [],
    certificateCheckTime: CertificateCheckTime? = nil
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.certificateCheckTime = certificateCheckTime
  }
}

public struct HTTPResponse {
  public var status: Int
  public var headers: [HTTPHeader]
  public var body: [UInt8]
  /// The verified server chain's validity window; nil over plain HTTP (or
  /// from a test transport that has no certificate).
  public var peerValidity: PeerValidity?

  public init(status: Int, headers: [HTTPHeader], body: [UInt8], peerValidity: PeerValidity? = nil) {
    self.status = status
    self.headers = headers
    self.body = body
    self.peerValidity = peerValidity
  }

  /// The first header with this name, compared case-insensitively (RFC 9110 §5.1).
  public func header(_ name: String) -> String? {
    for header in headers where ASCII.equalsIgnoringCase(header.name, name) {
      return header.value
    }
    return nil
  }
}
