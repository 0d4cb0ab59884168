// Device authorization responses (RFC 8628 §3.2): what is accepted is
// bounded, and its verification URIs pass the endpoint URL rules.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeviceAuthorization(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let (mode, bytes) = selector(fuzzInput(data, size))
  let plainHTTP = mode & 1 == 1
  do throws(OAuthMessageError) {
    let grant = try DeviceAuthorization.parse(bytes, allowPlainHTTP: plainHTTP)
    require(
      !grant.userCode.isEmpty && grant.userCode.utf8.count <= DeviceAuthorization.maxUserCodeLength,
      "user_code bounded")
    require(
      !grant.deviceCode.isEmpty && grant.deviceCode.utf8.count <= DeviceAuthorization.maxDeviceCodeLength,
      "device_code bounded")
    require(grant.expiresIn > 0 && grant.expiresIn <= DeviceAuthorization.maxExpiresIn, "expires_in in range")
    require(grant.interval > 0 && grant.interval <= DeviceAuthorization.maxInterval, "interval in range")
    require(isPrintableASCII(grant.userCode), "user_code printable")
    do throws(OAuthMessageError) {
      try EndpointURL.validate(grant.verificationURI, field: "verification_uri", allowPlainHTTP: plainHTTP)
      if let complete = grant.verificationURIComplete {
        try EndpointURL.validate(complete, field: "verification_uri_complete", allowPlainHTTP: plainHTTP)
      }
    } catch {
      fatalError("property failed: accepted verification URI fails EndpointURL: \(error.description)")
    }
  } catch {
    requireLogSafe(error.description, "device authorization error")
  }
  return 0
}
