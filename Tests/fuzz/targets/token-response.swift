// Token endpoint responses (RFC 6749 §5.1, RFC 9449 §5): a parsed response
// holds a bounded, non-empty access token and a bounded lifetime; a refused
// one has an error whose text is safe to log.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  do throws(OAuthMessageError) {
    let response = try TokenResponse.parse(bytes)
    require(response.accessToken.count > 0, "access token not empty")
    require(response.accessToken.count <= TokenResponse.maxTokenLength, "access token bounded")
    if let expiresIn = response.expiresIn {
      require(expiresIn >= 0 && expiresIn <= TokenResponse.maxExpiresIn, "expires_in in range")
    }
    if let refresh = response.refreshToken {
      require(refresh.count > 0 && refresh.count <= TokenResponse.maxTokenLength, "refresh token bounded")
    }
  } catch {
    requireLogSafe(error.description, "token response error")
  }
  return 0
}
