// The log line rule (LogSafeText.line = printable ASCII, LogMask, 1,024
// characters): the output is printable ASCII and at most 1,024 characters,
// and it holds no unmasked value after a credential keyword or scheme and no
// run of 20+ token characters mixing two classes. The checker is the oracle
// in ../oracles/log-mask.swift, written independently of LogMask's scanner.
import Oracle_log_mask
@testable import AgentCore

/// The line through the real rule, then the independent oracle.
func checkLogLine(_ input: String) {
  let out = LogSafeText.line(input)
  if let failed = logLineViolation(out, lineLimit: LogSafeText.lineLimit) { require(false, failed) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogMask(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  checkLogLine(String(decoding: bytes, as: UTF8.self))
  // Also as a value that follows a keyword, the way a server's text lands.
  checkLogLine("refresh failed: " + String(decoding: bytes, as: UTF8.self))
  return 0
}
