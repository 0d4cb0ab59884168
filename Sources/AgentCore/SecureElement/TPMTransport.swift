import CAgentSys

/// Carries one whole TPM 2.0 command to a TPM and returns its whole
/// response, unparsed (the caller checks every byte). The device uses
/// `DeviceTPMTransport`; tests speak TCP to swtpm.
public protocol TPMTransport {
  mutating func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8]
}

/// The kernel's TPM resource manager, /dev/tpmrm0: it gives each open file
/// its own context, so the agent shares the TPM with other users safely,
/// and it flushes transient objects when the file closes.
public final class DeviceTPMTransport: TPMTransport {
  private let fd: Int32
  private let path: String

  public init(path: String = "/dev/tpmrm0") throws(TPMError) {
    let fd = ca_tpm_open(path)
    guard fd >= 0 else { throw .transport(.last("open \(path)")) }
    self.fd = fd
    self.path = path
  }

  deinit { close(fd) }

  public func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
    // The TPM driver takes the command in one write and refuses a partial one.
    while true {
      let written = command.withUnsafeBytes { CAgentSys.write(fd, $0.baseAddress, $0.count) }
      if written < 0 {
        if ca_errno() == EINTR { continue }
        throw .transport(.last("write \(path)"))
      }
      guard written == command.count else { throw .transport(SystemError("short write \(path)", errno: EIO)) }
      break
    }
    // One read returns the whole response; one byte more than the largest
    // response lets an oversized one be told apart from a full buffer.
    var buffer = [UInt8](repeating: 0, count: TPMConstant.maxResponseBytes + 1)
    while true {
      let count = buffer.withUnsafeMutableBytes { CAgentSys.read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if ca_errno() == EINTR { continue }
        throw .transport(.last("read \(path)"))
      }
      return Array(buffer[0..<count])
    }
  }
}
