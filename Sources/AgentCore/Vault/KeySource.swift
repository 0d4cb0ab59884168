/// Where the board's hardware-unique key (HUK) comes from. The vault key is
/// derived from it, so a vault copied to another board does not open there.
public enum KeySource: Equatable {
  /// A file holding the secret: an OTP/eFuse value exposed through sysfs, or a
  /// secret provisioned into a protected partition.
  case file(path: String)
  /// A QEMU firmware-config blob (`-fw_cfg name=opt/...`), which lives outside
  /// the guest's storage the way an OTP fuse lives outside flash.
  case qemuFirmwareConfig(name: String)
  /// A fixed, public key for development boards. Protects nothing.
  case development

  public static let minimumKeyBytes = 16
  public static let maximumKeyBytes = 4096
  static let developmentKey = Array("camera-agent DEVELOPMENT key: protects nothing".utf8)

  /// Parses the config form: `file:/path`, `qemu-fw-cfg:opt/camera/huk`, `development`.
  public static func parse(_ text: String) -> KeySource? {
    if Word(text) == "development" { return .development }
    if ASCII.hasPrefixIgnoringCase(text, "file:") {
      let path = String(decoding: Array(text.utf8).dropFirst(5), as: UTF8.self)
      return path.utf8.first == UInt8(ascii: "/") ? .file(path: path) : nil
    }
    if ASCII.hasPrefixIgnoringCase(text, "qemu-fw-cfg:") {
      let name = String(decoding: Array(text.utf8).dropFirst(12), as: UTF8.self)
      // A fw_cfg name is a relative path under by_name/: no empty or ".." parts.
      let parts = name.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
      for part in parts where part.isEmpty || Array(part) == Array("..".utf8) { return nil }
      return .qemuFirmwareConfig(name: name)
    }
    return nil
  }

  public var description: String {
    switch self {
    case .file(let path): return "file:\(path)"
    case .qemuFirmwareConfig(let name): return "qemu-fw-cfg:\(name)"
    case .development: return "development"
    }
  }

  public var isDevelopment: Bool {
    // A pattern, not `==`: the derived `==` compares the String payloads
    // of the other cases (Unicode equality, see Word).
    if case .development = self { return true }
    return false
  }

  /// The path the key is read from.
  public var path: String? {
    switch self {
    case .file(let path): return path
    case .qemuFirmwareConfig(let name): return "/sys/firmware/qemu_fw_cfg/by_name/\(name)/raw"
    case .development: return nil
    }
  }

  /// Reads the key. Too short, unreadable or missing is an error, never a fallback.
  public func load() throws(VaultError) -> SecretBytes {
    guard let path else { return SecretBytes(Self.developmentKey) }
    let bytes: [UInt8]
    do {
      bytes = try FileIO.read(path, maxBytes: Self.maximumKeyBytes)
    } catch {
      throw .keySource("\(description): \(error.description)")
    }
    let key = SecretBytes(bytes)
    guard key.count >= Self.minimumKeyBytes else {
      throw .keySource("\(description): \(key.count) bytes, need at least \(Self.minimumKeyBytes)")
    }
    return key
  }
}
