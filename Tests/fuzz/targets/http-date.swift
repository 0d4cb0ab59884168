// HTTP dates (RFC 9110 §5.6.7, IMF-fixdate): a parsed date formats back to a
// date that parses to the same instant, and formatting any instant in range
// parses back to it.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPDate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  let text = String(decoding: bytes, as: UTF8.self)
  if let seconds = HTTPDate.parse(text) {
    guard let formatted = HTTPDate.format(seconds) else {
      fatalError("property failed: a parsed date \(seconds) does not format")
    }
    require(HTTPDate.parse(formatted) == seconds, "format(parse(x)) parses to the same instant")
  }
  if bytes.count >= 8 {
    var raw: UInt64 = 0
    for byte in bytes.prefix(8) { raw = raw << 8 | UInt64(byte) }
    let seconds = Int64(bitPattern: raw)
    if let formatted = HTTPDate.format(seconds) {
      require(formatted.utf8.count == 29, "IMF-fixdate is 29 bytes")
      require(HTTPDate.parse(formatted) == seconds, "parse(format(t)) == t")
    }
  }
  return 0
}
