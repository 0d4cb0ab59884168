/// Server-chosen text (error descriptions, unknown error codes, a wrong
/// issuer, a redirect's `Location`, curl's TLS message quoting a certificate)
/// and config-file text end up in syslog, on stderr and on the serial
/// console. It is untrusted: it could forge log lines with CR/LF, drive a
/// terminal with escape sequences, or be megabytes long.
///
/// `line` is the one rule for everything that reaches a log or a terminal's
/// stderr (the logger and `Console.err` both use it); `sanitize` is its
/// printable-ASCII-and-length part, used where a parser keeps a short quote.
public enum LogSafeText {
  /// The longest line a log sink or stderr diagnostic gets, ellipsis included.
  public static let lineLimit = 1_024

  /// The shared rule: printable ASCII only (so nothing a server sent can end
  /// a line or start an escape sequence), then `LogMask` (credential-shaped
  /// text), then at most `lineLimit` characters.
  public static func line(_ text: String) -> String {
    let printable = sanitize(text, limit: Int.max)
    return sanitize(LogMask.apply(printable), limit: lineLimit)
  }

  /// Printable ASCII is kept, every other Unicode scalar becomes `?`, and the
  /// result is at most `limit` characters, a cut marked by `...` inside that
  /// limit (a limit under 3 cuts without a marker).
  public static func sanitize(_ text: String, limit: Int) -> String {
    let limit = max(0, limit)
    var out: [UInt8] = []
    out.reserveCapacity(min(text.utf8.count, limit))
    var cut = false
    for scalar in text.unicodeScalars {
      if out.count == limit {
        cut = true
        break
      }
      let value = scalar.value
      out.append(value >= 0x20 && value < 0x7f ? UInt8(value) : UInt8(ascii: "?"))
    }
    if cut && limit >= 3 {
      out.removeLast(3)
      out.append(contentsOf: [0x2e, 0x2e, 0x2e])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// For stdout data lines (status fields, JSON, a JWS): printable ASCII
  /// only, with no mask and no length limit, since the line is the output.
  public static func printable(_ text: String) -> String { sanitize(text, limit: Int.max) }
}
