import CAgentSys

/// Unbuffered output through write(2). A trap in an `-Osize` Embedded build
/// kills the process without flushing stdio buffers, so nothing is buffered.
public enum Console {
  /// A line of output (a status field, JSON, a JWS): printable ASCII only, so
  /// a config value or a server's text cannot end the line or drive the
  /// terminal; not masked or cut, since the line is the command's result.
  public static func out(_ line: String) { write(fd: 1, LogSafeText.printable(line) + "\n") }

  /// A diagnostic: the logger's rule (`LogSafeText.line`), so a server's
  /// text or a bad config line reaches stderr as one masked line of at most
  /// 1,024 printable ASCII characters, whichever command printed it.
  public static func err(_ line: String) { write(fd: 2, LogSafeText.line(line) + "\n") }

  public static func write(fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buffer in
      var offset = 0
      while offset < buffer.count {
        let n = CAgentSys.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
          if ca_errno() == EINTR { continue }
          return
        }
        offset += n
      }
    }
  }
}
