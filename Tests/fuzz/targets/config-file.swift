// The configuration file (Config/): a file that loads yields entries whose
// keys and values hold no control characters; a refused one names the line
// in a message that is printable, bounded and safe for stderr.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  let file: ConfigFile
  do throws(ConfigError) {
    file = try ConfigFile(path: "/etc/camera-agent.conf", text: bytes)
  } catch {
    checkConfigError(error)
    return 0
  }
  for entry in file.entries {
    require(entry.key.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7f }, "key has no control character")
    require(entry.value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7f }, "value has no control character")
    require(entry.line >= 1, "line numbers start at 1")
  }
  do throws(ConfigError) {
    _ = try AgentConfig(file: file)
  } catch {
    checkConfigError(error)
  }
  return 0
}

func checkConfigError(_ error: ConfigError) {
  let text = error.description
  // The error quotes the file at most briefly and never raw (issue 13 item 12).
  require(isPrintableASCII(text), "config error printable: \(LogSafeText.printable(text))")
  require(text.utf8.count <= 512, "config error bounded")
  requireLogSafe(text, "config error")
}
