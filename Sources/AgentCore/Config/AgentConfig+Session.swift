extension AgentConfig {
  /// The session core's settings from this configuration.
  public var sessionSettings: SessionSettings {
    var settings = SessionSettings(storm: stormPolicy)
    settings.startupDelayMs = Int64(startupDelayMs)
    settings.refreshFloorMs = Int64(refreshFloorSeconds) * 1_000
    // A lifetime below the floor is scheduled as the floor: one rule, one number.
    settings.minimumLifetimeMs = settings.refreshFloorMs
    settings.reportIntervalMs = Int64(reportIntervalSeconds) * 1_000
    settings.reportJitterMs = Int64(effectiveReportJitterSeconds) * 1_000
    settings.activationReportDelayMs = Int64(activationReportDelaySeconds) * 1_000
    settings.unattendedBaseMs = Int64(pairingBackoffBaseSeconds) * 1_000
    settings.unattendedCapMs = Int64(max(pairingBackoffCapSeconds, pairingBackoffBaseSeconds)) * 1_000
    settings.refusalBaseMs = Int64(identityRetryBaseSeconds) * 1_000
    settings.refusalCapMs = Int64(max(identityRetryCapSeconds, identityRetryBaseSeconds)) * 1_000
    return settings
  }
}
