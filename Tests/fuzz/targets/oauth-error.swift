// OAuth error responses (RFC 6749 §5.2): the code and description that reach
// the log are printable ASCII and bounded however hostile the body.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOAuthError(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  do throws(OAuthMessageError) {
    let error = try OAuthError.parse(bytes)
    require(isPrintableASCII(error.code.description), "code printable")
    require(error.code.description.utf8.count <= OAuthError.maxUnknownCodeLength, "code bounded")
    if let text = error.errorDescription {
      require(
        isPrintableASCII(text) && text.utf8.count <= OAuthError.maxDescriptionLength, "description clean")
    }
    require(
      OAuthError.Code(error.code.description) == error.code || !isKnown(error.code), "known codes round-trip")
  } catch {
    requireLogSafe(error.description, "OAuth error body error")
  }
  return 0
}

func isKnown(_ code: OAuthError.Code) -> Bool {
  if case .unknown = code { return false }
  return true
}
