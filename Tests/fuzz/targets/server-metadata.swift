// Authorization server metadata (RFC 8414): accepted only for the issuer
// asked for, with endpoints that pass the endpoint URL rules.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerMetadata(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let (mode, bytes) = selector(fuzzInput(data, size))
  let plainHTTP = mode & 1 == 1
  let issuer = mode & 2 == 0 ? "https://cloud.example" : "http://127.0.0.1:8443/tenant"
  do throws(OAuthMessageError) {
    let metadata = try ServerMetadata.parse(bytes, expectedIssuer: issuer, allowPlainHTTP: plainHTTP)
    require(metadata.issuer == issuer, "issuer is the expected one")
    var endpoints = [metadata.tokenEndpoint, metadata.deviceAuthorizationEndpoint]
    if let url = metadata.revocationEndpoint { endpoints.append(url) }
    for url in endpoints {
      do throws(OAuthMessageError) {
        try EndpointURL.validate(url, field: "endpoint", allowPlainHTTP: plainHTTP)
      } catch {
        fatalError("property failed: accepted endpoint fails EndpointURL: \(error.description)")
      }
    }
  } catch {
    requireLogSafe(error.description, "metadata error")
  }
  return 0
}
