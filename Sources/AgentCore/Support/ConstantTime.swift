/// Comparisons whose running time does not depend on where the inputs differ.
public enum ConstantTime {
  public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for index in 0..<a.count { diff |= a[index] ^ b[index] }
    return diff == 0
  }
}
