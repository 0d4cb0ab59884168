// base64url without padding (RFC 7515 §2, RFC 4648 §5): decoding is the
// inverse of encoding, and only the canonical text of some bytes decodes.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase64URL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  require(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "decode(encode(b)) == b")
  let text = String(decoding: bytes, as: UTF8.self)
  if let decoded = Base64URL.decode(text) {
    require(Base64URL.encode(decoded) == text, "only canonical text decodes")
  }
  return 0
}
