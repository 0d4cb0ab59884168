// WWW-Authenticate (RFC 9110 §11.6.1, RFC 9449 §7.1): challenges are bounded
// and their names are tokens; the DPoP error found in them is clean.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWWWAuthenticate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
  do throws(OAuthMessageError) {
    let challenges = try WWWAuthenticate.parse(text)
    require(challenges.count <= WWWAuthenticate.maxChallenges, "challenge count bounded")
    for challenge in challenges {
      require(!challenge.scheme.isEmpty && isPrintableASCII(challenge.scheme), "scheme is a token")
      require(challenge.parameters.count <= WWWAuthenticate.maxParameters, "parameter count bounded")
      for parameter in challenge.parameters {
        require(!parameter.name.isEmpty && isPrintableASCII(parameter.name), "parameter name is a token")
      }
    }
  } catch {
    requireLogSafe(error.description, "WWW-Authenticate error")
  }
  if let error = WWWAuthenticate.dpopError(in: [HTTPHeader("WWW-Authenticate", text)]) {
    require(isPrintableASCII(error.description), "DPoP error printable")
  }
  return 0
}
