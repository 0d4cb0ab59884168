// Retry-After (RFC 9110 §10.2.3): whatever the server sends, the delay is
// within 0...maximum, and a delay in seconds is never more than asked.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRetryAfter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  guard bytes.count >= 10 else { return 0 }
  var date: UInt64 = 0
  for byte in bytes.prefix(8) { date = date << 8 | UInt64(byte) }
  let serverDate: Int64? = bytes[8] & 1 == 0 ? nil : Int64(bitPattern: date)
  let maximum = Int64(bytes[9]) * 60 - 600
  let value = String(decoding: bytes.dropFirst(10), as: UTF8.self)
  if let delay = RetryAfter.delaySeconds(value, serverDate: serverDate, maximum: maximum) {
    require(delay >= 0 && delay <= max(maximum, 0), "delay within 0...maximum")
  }
  return 0
}
