import CAgentSys

public enum SHA256 {
  public static let digestSize = 32

  public static func hash(_ data: [UInt8]) throws(CryptoError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: digestSize)
    let ok = data.withUnsafeBufferPointer { input in
      ca_sha256(input.baseAddress, input.count, &out)
    }
    guard ok == 1 else { throw CryptoError.fromQueue("SHA-256") }
    return out
  }
}
