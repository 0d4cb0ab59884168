import CAgentSys

/// Whole-file reads with a size cap, through open/read/close.
public enum FileIO {
  public enum ReadError: Error, Equatable, CustomStringConvertible {
    case system(SystemError)
    case tooLarge(path: String, limit: Int)

    public var description: String {
      switch self {
      case .system(let error): return error.description
      case .tooLarge(let path, let limit): return "\(path): larger than \(limit) bytes"
      }
    }
  }

  public static func read(_ path: String, maxBytes: Int) throws(ReadError) -> [UInt8] {
    let fd = ca_open(path, ca_flag_rdonly(), 0)
    guard fd >= 0 else { throw .system(.last("open \(path)")) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = chunk.withUnsafeMutableBytes { CAgentSys.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if ca_errno() == EINTR { continue }
        throw .system(.last("read \(path)"))
      }
      if n == 0 { return out }
      guard out.count + n <= maxBytes else { throw .tooLarge(path: path, limit: maxBytes) }
      out.append(contentsOf: chunk[0..<n])
    }
  }

  /// The first `count` bytes of `path` (fewer when it is shorter): for a
  /// region at the start of a device or partition larger than what is read.
  public static func readPrefix(_ path: String, count: Int) throws(ReadError) -> [UInt8] {
    let fd = ca_open(path, ca_flag_rdonly(), 0)
    guard fd >= 0 else { throw .system(.last("open \(path)")) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while out.count < count {
      let want = min(chunk.count, count - out.count)
      let n = chunk.withUnsafeMutableBytes { CAgentSys.read(fd, $0.baseAddress, want) }
      if n < 0 {
        if ca_errno() == EINTR { continue }
        throw .system(.last("read \(path)"))
      }
      if n == 0 { break }
      out.append(contentsOf: chunk[0..<n])
    }
    return out
  }

  public static func exists(_ path: String) -> Bool {
    access(path, F_OK) == 0
  }
}
