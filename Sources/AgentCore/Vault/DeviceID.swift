/// The device identifier (the OAuth `client_id`): 3 to 64 characters of
/// `A-Z a-z 0-9 . _ -`, starting with a letter or digit. The same rule as the
/// cloud's factory endpoint, so anything the agent accepts the cloud accepts.
public enum DeviceID {
  public static func isValid(_ id: String) -> Bool {
    let bytes = Array(id.utf8)
    guard bytes.count >= 3, bytes.count <= 64 else { return false }
    for (index, byte) in bytes.enumerated() {
      let alnum =
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
      if index == 0 && !alnum { return false }
      if !alnum && byte != UInt8(ascii: ".") && byte != UInt8(ascii: "_") && byte != UInt8(ascii: "-") {
        return false
      }
    }
    return true
  }
}
