// Endpoint URLs from server metadata: an accepted URL is https (or http when
// allowed), bounded, and holds no byte that could break a request line, a
// header or a log line.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEndpointURL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let (mode, bytes) = selector(fuzzInput(data, size))
  let text = String(decoding: bytes, as: UTF8.self)
  let plainHTTP = mode & 1 == 1
  let allowQuery = mode & 2 == 0
  do throws(OAuthMessageError) {
    try EndpointURL.validate(text, field: "endpoint", allowPlainHTTP: plainHTTP, allowQuery: allowQuery)
    let accepted = Array(text.utf8)
    require(accepted.count <= EndpointURL.maxLength, "bounded")
    require(accepted.allSatisfy { $0 > 0x20 && $0 < 0x7f }, "no space, control or non-ASCII byte")
    require(
      ASCII.hasPrefixIgnoringCase(text, "https://")
        || (plainHTTP && ASCII.hasPrefixIgnoringCase(text, "http://")),
      "scheme allowed")
    require(allowQuery || !accepted.contains(UInt8(ascii: "?")), "no query when refused")
    require(!accepted.contains(UInt8(ascii: "#")), "no fragment")
  } catch {
    requireLogSafe(error.description, "endpoint URL error")
  }
  return 0
}
