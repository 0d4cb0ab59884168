import CAgentSys

/// Carries one whole TPM 2.0 command to a TPM and returns its whole
/// response, unparsed (the caller checks every byte). The device uses
/// `DeviceTPMTransport`; tests speak TCP to swtpm.
public protocol TPMTransport {
  mutating func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8]
}

/// The kernel's TPM resource manager, /dev/tpmrm0: it gives each open file
/// its own context, so the agent shares the TPM with other users safely,
/// and it flushes transient objects when the file closes. Or a software TPM
/// (swtpm) on a loopback TCP port, which takes the same raw commands: for
/// development boards and the hosted tests, which have no TPM device.
public final class DeviceTPMTransport: TPMTransport {
  private let fd: Int32
  private let path: String
  private let isSocket: Bool

  public init(path: String = "/dev/tpmrm0") throws(TPMError) {
    let fd = ca_tpm_open(path)
    guard fd >= 0 else { throw .transport(.last("open \(path)")) }
    self.fd = fd
    self.path = path
    self.isSocket = false
  }

  /// swtpm's server port on 127.0.0.1.
  public init(loopbackPort port: UInt16) throws(TPMError) {
    let name = "swtpm 127.0.0.1:\(port)"
    let fd = ca_tpm_connect_loopback(port)
    guard fd >= 0 else { throw .transport(.last("connect \(name)")) }
    self.fd = fd
    self.path = name
    self.isSocket = true
  }

  /// The transport a tpm2-openssl TCTI string names, so the agent's own TPM
  /// commands reach the same TPM as the provider: nil or "device" is
  /// /dev/tpmrm0, "device:PATH" that node, "swtpm:host=127.0.0.1,port=N"
  /// (or "swtpm:port=N") a software TPM on loopback. Anything else (another
  /// host, mssim's framing, a TCTI library by file name) is refused by name.
  public static func open(tcti: String?) throws(TPMError) -> DeviceTPMTransport {
    guard let tcti else { return try DeviceTPMTransport() }
    let bytes = Array(tcti.utf8)
    if bytes == Array("device".utf8) { return try DeviceTPMTransport() }
    if let path = ASCII.remainder(of: bytes, after: "device:") {
      return try DeviceTPMTransport(path: String(decoding: path, as: UTF8.self))
    }
    if let options = ASCII.remainder(of: bytes, after: "swtpm:") {
      var port: UInt16? = nil
      for option in options.split(separator: UInt8(ascii: ",")) {
        let parts = option.split(separator: UInt8(ascii: "="), maxSplits: 1)
        guard parts.count == 2 else { throw unsupported(tcti) }
        let key = Array(parts[0])
        let value = Array(parts[1])
        if key == Array("host".utf8) {
          guard value == Array("127.0.0.1".utf8) || value == Array("localhost".utf8) else {
            throw unsupported(tcti)
          }
        } else if key == Array("port".utf8), let number = decimal(value), number >= 1, number <= 65535 {
          port = UInt16(number)
        } else {
          throw unsupported(tcti)
        }
      }
      guard let port else { throw unsupported(tcti) }
      return try DeviceTPMTransport(loopbackPort: port)
    }
    throw unsupported(tcti)
  }

  private static func unsupported(_ tcti: String) -> TPMError {
    .transport(
      SystemError(
        "TCTI \(tcti): the agent's own TPM commands reach device:PATH or swtpm on 127.0.0.1 only",
        errno: EINVAL))
  }

  private static func decimal(_ digits: [UInt8]) -> Int? {
    guard !digits.isEmpty, digits.count <= 5 else { return nil }
    var value = 0
    for digit in digits {
      guard digit >= 0x30, digit <= 0x39 else { return nil }
      value = value * 10 + Int(digit - 0x30)
    }
    return value
  }

  deinit { close(fd) }

  public func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
    // The TPM driver takes the command in one write and refuses a partial
    // one; a socket may take it in pieces.
    var sent = 0
    while sent < command.count {
      let written = command[sent...].withUnsafeBytes { raw -> Int in
        isSocket
          ? Int(ca_tpm_send(fd, raw.baseAddress, UInt(raw.count)))
          : CAgentSys.write(fd, raw.baseAddress, raw.count)
      }
      if written < 0 {
        if ca_errno() == EINTR { continue }
        throw .transport(.last("write \(path)"))
      }
      guard written > 0, isSocket || written == command.count else {
        throw .transport(SystemError("short write \(path)", errno: EIO))
      }
      sent += written
    }
    // The device returns the whole response in one read; a socket may split
    // it, so reading goes on until the header's size has arrived. One byte
    // more than the largest response lets an oversized one be told apart
    // from a full buffer; the size is checked by TPMResponse.
    var buffer = [UInt8](repeating: 0, count: TPMConstant.maxResponseBytes + 1)
    var have = 0
    while true {
      let count = buffer[have...].withUnsafeMutableBytes { CAgentSys.read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if ca_errno() == EINTR { continue }
        throw .transport(.last("read \(path)"))
      }
      have += count
      if !isSocket || count == 0 || have == buffer.count { break }
      if have >= 10 {
        let announced = Int(buffer[2]) << 24 | Int(buffer[3]) << 16 | Int(buffer[4]) << 8 | Int(buffer[5])
        if have >= announced { break }
      }
    }
    return Array(buffer[0..<have])
  }
}
