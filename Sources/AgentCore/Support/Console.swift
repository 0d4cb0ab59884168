import CAgentSys

/// Unbuffered output through write(2). A trap in an `-Osize` Embedded build
/// kills the process without flushing stdio buffers, so nothing is buffered.
public enum Console {
  public static func out(_ line: String) { write(fd: 1, line + "\n") }
  public static func err(_ line: String) { write(fd: 2, line + "\n") }

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
