import Foundation

/// Writes a script the tests then execute. Through one descriptor opened
/// with O_CLOEXEC, never Foundation's `write(toFile:)`: swift test runs
/// suites in parallel, and a process forked by another test while a
/// writable descriptor of the script is open (inherited without CLOEXEC)
/// makes the script's own exec fail with ETXTBSY ("Text file busy").
func writeExecutable(_ path: String, _ text: String) throws {
  let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
  guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  defer { close(fd) }
  let bytes = Array(text.utf8)
  let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  guard written == bytes.count else { throw POSIXError(.EIO) }
}
