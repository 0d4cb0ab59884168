/// The time a request's server certificate is judged at, in seconds since
/// the epoch. Given by the caller, never read by OpenSSL from the system
/// clock: a camera may be at 1970, and an armv7 libcrypto's 32-bit `time_t`
/// ends in 2038 (`Sources/CAgentSys/shim_tls.h`).
public struct CertificateCheckTime: Equatable, Sendable {
  public var seconds: Int64
  /// True when the clock is believed (the certificate must be valid at
  /// `seconds`); false when `seconds` is only a lower bound of the true time
  /// (the time floor), so only "expired by then" can be decided.
  public var isExact: Bool

  public init(seconds: Int64, isExact: Bool) {
    self.seconds = seconds
    self.isExact = isExact
  }
}

/// The validity window the server's verified chain shares: the latest
/// notBefore and the earliest notAfter of its certificates.
public struct PeerValidity: Equatable, Sendable {
  public var notBefore: Int64
  public var notAfter: Int64

  public init(notBefore: Int64, notAfter: Int64) {
    self.notBefore = notBefore
    self.notAfter = notAfter
  }
}
