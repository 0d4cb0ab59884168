/// Builds compact JSON text. Strings are escaped per RFC 8259 §7, so no value
/// (a firmware version with quotes, a control character) can break the document.
public struct JSONWriter {
  public private(set) var bytes: [UInt8] = []
  private var needsComma: [Bool] = [false]

  public init() {}

  public var text: String { String(decoding: bytes, as: UTF8.self) }

  public mutating func beginObject() {
    separator()
    bytes.append(UInt8(ascii: "{"))
    needsComma.append(false)
  }

  public mutating func endObject() {
    needsComma.removeLast()
    bytes.append(UInt8(ascii: "}"))
  }

  public mutating func beginArray() {
    separator()
    bytes.append(UInt8(ascii: "["))
    needsComma.append(false)
  }

  public mutating func endArray() {
    needsComma.removeLast()
    bytes.append(UInt8(ascii: "]"))
  }

  /// Writes `"key":`; the next value call completes the member.
  public mutating func key(_ name: String) {
    separator()
    appendString(name)
    bytes.append(UInt8(ascii: ":"))
    needsComma[needsComma.count - 1] = false
  }

  public mutating func string(_ value: String) {
    separator()
    appendString(value)
  }

  public mutating func integer(_ value: Int64) {
    separator()
    bytes.append(contentsOf: Array(String(value).utf8))
  }

  public mutating func unsigned(_ value: UInt64) {
    separator()
    bytes.append(contentsOf: Array(String(value).utf8))
  }

  public mutating func member(_ name: String, _ value: String) {
    key(name)
    string(value)
  }

  public mutating func member(_ name: String, _ value: Int64) {
    key(name)
    integer(value)
  }

  private mutating func separator() {
    if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
    needsComma[needsComma.count - 1] = true
  }

  private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  private mutating func appendString(_ value: String) {
    bytes.append(UInt8(ascii: "\""))
    for byte in value.utf8 {
      switch byte {
      case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5c, 0x22])
      case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5c, 0x5c])
      case 0x0a: bytes.append(contentsOf: [0x5c, UInt8(ascii: "n")])
      case 0x0d: bytes.append(contentsOf: [0x5c, UInt8(ascii: "r")])
      case 0x09: bytes.append(contentsOf: [0x5c, UInt8(ascii: "t")])
      case 0..<0x20, 0x7f:
        bytes.append(contentsOf: Array("\\u00".utf8))
        bytes.append(Self.hex[Int(byte >> 4)])
        bytes.append(Self.hex[Int(byte & 0x0f)])
      default: bytes.append(byte)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }
}
