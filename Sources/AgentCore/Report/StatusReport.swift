/// The status report, schema 1: a fixed set of fields, not a bag. Nothing
/// about the local network, the owner or the camera's name can get in,
/// because there is no field for it: adding one means changing `allowedKeys`
/// too, and a test compares the two.
public struct StatusReport: Equatable {
  public static let schema: Int64 = 1
  /// Every JSON key the report may carry, in the order it is written.
  public static let allowedKeys = [
    "schema", "device_id", "firmware_version", "last_activation", "agent_version",
  ]

  public var deviceID: String
  public var firmwareVersion: FirmwareVersion
  /// Seconds since the epoch of the most recent (re-)activation.
  public var lastActivation: Int64
  public var agentVersion: String

  public init(deviceID: String, firmwareVersion: FirmwareVersion, lastActivation: Int64, agentVersion: String)
  {
    self.deviceID = deviceID
    self.firmwareVersion = firmwareVersion
    self.lastActivation = lastActivation
    self.agentVersion = agentVersion
  }

  /// The exact bytes sent as the request body (and printed by `report --dry-run`).
  public func body() -> [UInt8]? {
    guard let activation = UTCMinute.format(lastActivation) else { return nil }
    var writer = JSONWriter()
    writer.beginObject()
    writer.member("schema", Self.schema)
    writer.member("device_id", deviceID)
    writer.member("firmware_version", firmwareVersion.text)
    writer.member("last_activation", activation)
    writer.member("agent_version", agentVersion)
    writer.endObject()
    return writer.bytes
  }
}
