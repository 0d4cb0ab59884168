/// Server-chosen text (error descriptions, unknown error codes, a wrong
/// issuer) ends up in syslog and on the serial console. It is untrusted: it
/// could forge log lines with CR/LF, drive a terminal with escape sequences,
/// or be megabytes long. This keeps printable ASCII only and caps the length.
public enum LogSafeText {
  /// Printable ASCII is kept, every other Unicode scalar becomes `?`, and at
  /// most `limit` characters are kept, with `...` marking a cut.
  public static func sanitize(_ text: String, limit: Int) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(min(text.utf8.count, limit + 3))
    var kept = 0
    for scalar in text.unicodeScalars {
      if kept == limit {
        out.append(contentsOf: [0x2e, 0x2e, 0x2e])
        break
      }
      let value = scalar.value
      out.append(value >= 0x20 && value < 0x7f ? UInt8(value) : UInt8(ascii: "?"))
      kept += 1
    }
    return String(decoding: out, as: UTF8.self)
  }
}
