/// The `Retry-After` header (RFC 9110 §10.2.3) on 429 and 503 responses:
/// how long the storm control waits before the next attempt. The value is
/// the server's to choose, so it is bounded: a huge or negative value cannot
/// park a camera for a year or turn into a hot retry.
public enum RetryAfter {
  /// A value longer than this is refused instead of parsed.
  public static let maxLength = 64

  /// The delay in seconds, clamped to `0...maximum`, or nil when the value is
  /// neither form (the caller then uses its own backoff).
  ///
  /// - `delay-seconds` (`1*DIGIT`): used as is; any number of digits, larger
  ///   values saturate at `maximum`.
  /// - an IMF-fixdate: measured from `serverDate` (the same response's `Date`
  ///   header), never from the device clock, which may still be at 1970; nil
  ///   without it.
  public static func delaySeconds(_ value: String, serverDate: Int64?, maximum: Int64) -> Int64? {
    let maximum = max(maximum, 0)
    let text = ASCII.trimmed(value)
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty, bytes.count <= maxLength else { return nil }
    if bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
      var seconds: Int64 = 0
      for byte in bytes {
        let (times10, overflow1) = seconds.multipliedReportingOverflow(by: 10)
        let (next, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
        seconds = overflow1 || overflow2 ? maximum : min(next, maximum)
      }
      return seconds
    }
    guard let date = HTTPDate.parse(text), let serverDate else { return nil }
    let (delay, overflow) = date.subtractingReportingOverflow(serverDate)
    if overflow { return serverDate < 0 ? maximum : 0 }
    return min(max(delay, 0), maximum)
  }
}
