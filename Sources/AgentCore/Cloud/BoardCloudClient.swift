/// The cloud client as the board runs it: libcurl with the configured HTTP
/// policy, OpenSSL randomness, the system clock (with its learned
/// correction), and the issuer and plain-HTTP switch from the configuration.
/// One place builds it, for the daemon and for `wipe`.
typealias BoardCloudClient = CloudClient<CurlTransport, SystemRandom, SystemWallClock>

extension CloudClient where Transport == CurlTransport, Random == SystemRandom, Clock == SystemWallClock {
  init(
    config: AgentConfig, deviceID: String, identityKey: P256PrivateKey, sessionKey: P256PrivateKey,
    clock: ClockCorrection<SystemWallClock> = ClockCorrection(clock: SystemWallClock())
  ) {
    self.init(
      transport: CurlTransport(policy: config.httpPolicy), random: SystemRandom(), clock: clock,
      issuer: config.server, deviceID: deviceID, identityKey: identityKey, sessionKey: sessionKey,
      allowPlainHTTP: config.allowInsecureHTTP, apiBase: config.effectiveAPIBase)
  }
}
