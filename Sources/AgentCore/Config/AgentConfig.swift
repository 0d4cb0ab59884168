/// The agent's settings, validated. Every key is documented in
/// board/agent.conf.example; anything not listed there is refused.
public struct AgentConfig {
  public static let defaultPath = "/etc/camera-agent/agent.conf"

  /// False in a build for a board without a TPM (cross/build.sh
  /// SECURE_ELEMENT=none): the TPM code is compiled out, and a configuration
  /// that asks for it is refused rather than run without it.
  #if CAMERA_AGENT_NO_SECURE_ELEMENT
    public static let hasSecureElement = false
  #else
    public static let hasSecureElement = true
  #endif

  /// Base URL of the authorization server (its RFC 8414 issuer).
  public var server: String = ""
  /// The report API's base URL, `{api}` of `POST {api}/v1/devices/{id}/report`
  /// and its RFC 9728 resource identifier; nil = the issuer's origin
  /// (`effectiveAPIBase`).
  public var apiBase: String? = nil
  /// PEM CA bundle the cloud's certificate must chain to.
  public var caFile: String = "/etc/camera-agent/ca.pem"
  public var connectTimeoutMs: Int = 10_000
  public var totalTimeoutMs: Int = 30_000
  public var maxResponseBytes: Int = 64 * 1024
  /// Development only: permits http:// URLs.
  public var allowInsecureHTTP: Bool = false
  public var vaultBackend: VaultBackend = .file
  /// A directory (file backend) or an MTD character device (mtd backend).
  public var vaultPath: String = "/var/lib/camera-agent/vault"
  /// The board's hardware-unique key; nil until configured (no silent default).
  public var keySource: KeySource? = nil
  /// The TPM device whose NV counter the vault is bound to (`anti_rollback =
  /// tpm:PATH`, RollbackRule.swift); nil: no counter, and an old image of the
  /// flash opens (the documented limit of a board without one).
  public var antiRollbackTPM: String? = nil
  /// Where `provision` makes the identity key and how the daemon and the
  /// commands reach it (`identity_key = software | tpm2 | tpm2:TCTI`).
  public var identityKeyStorage: IdentityKeyStorage = .software
  /// Where the firmware version is read for the status report.
  public var firmwareVersionSource: FirmwareVersionSource? = nil
  /// The service user (the board definition's SERVICE_USER) that owns the
  /// file backend's vault: a command run as root gives the vault back to it
  /// (`VaultOwnership`). nil: ownership is left as the files were made.
  public var vaultOwner: String? = nil
  /// The daemon's local state interface: replaced atomically on each transition.
  public var stateFile: String = "/run/camera-agent/state"
  /// Forced re-authentication starts at a random moment within this window.
  public var reauthSpreadSeconds: Int = 3_600
  /// Storm control: first backoff ceiling and the largest backoff.
  public var backoffBaseMs: Int = 1_000
  public var backoffCapMs: Int = 300_000
  /// Lines below this level are dropped (stderr and syslog alike).
  public var logLevel: LogLevel = .info
  /// Log lines also go to this syslog socket; nil sends them to stderr only.
  public var syslogSocket: String? = "/dev/log"
  /// Run on every change of the local state, with the state file's values
  /// in its environment (and nothing else); nil runs nothing.
  public var hook: String? = nil
  /// A hook still running after this long is killed.
  public var hookTimeoutMs: Int = 5_000
  /// A status report goes out this often while the session is active (plus
  /// a random jitter), besides the one after each activation and on SIGUSR1.
  /// 0 turns the periodic report off.
  public var reportIntervalSeconds: Int = 21_600
  /// Up to this many seconds, chosen at random each time, are added to the
  /// interval so that a fleet does not report in step. Default: a tenth of
  /// the interval.
  public var reportJitterSeconds: Int? = nil
  /// The report after each activation waits a random 0...this many seconds.
  public var activationReportDelaySeconds: Int = 3_600
  /// The first request after start waits a random 0...this many ms.
  public var startupDelayMs: Int = 5_000
  /// Refreshes are at least this far apart, whatever the token lifetime.
  public var refreshFloorSeconds: Int = 60
  /// After an unapproved code lapses: the first wait before the next code,
  /// doubling with each one up to the cap.
  public var pairingBackoffBaseSeconds: Int = 1_800
  public var pairingBackoffCapSeconds: Int = 43_200
  /// A refused identity (`invalid_client`) is retried after this, doubling
  /// up to the cap.
  public var identityRetryBaseSeconds: Int = 300
  public var identityRetryCapSeconds: Int = 21_600

  public enum VaultBackend: Equatable {
    case file
    case mtd
  }

  public init() {}

  public init(file: ConfigFile) throws(ConfigError) {
    var serverLine = 0
    var apiBaseLine = 0
    for entry in file.entries {
      func invalid(_ reason: String) -> ConfigError {
        .invalidValue(path: file.path, line: entry.line, key: entry.key, reason: reason)
      }
      switch Word(entry.key) {
      case "server":
        guard
          ASCII.hasPrefixIgnoringCase(entry.value, "https://")
            || ASCII.hasPrefixIgnoringCase(entry.value, "http://")
        else { throw invalid("must be an https:// URL") }
        server = entry.value
        serverLine = entry.line
      case "api_base":
        apiBase = entry.value
        apiBaseLine = entry.line
      case "ca_file":
        guard entry.value.utf8.first == UInt8(ascii: "/") else { throw invalid("must be an absolute path") }
        caFile = entry.value
      case "connect_timeout_ms":
        connectTimeoutMs = try Self.integer(entry.value, in: 100...120_000, invalid)
      case "total_timeout_ms":
        totalTimeoutMs = try Self.integer(entry.value, in: 1_000...600_000, invalid)
      case "max_response_bytes":
        maxResponseBytes = try Self.integer(entry.value, in: 1_024...16 * 1024 * 1024, invalid)
      case "allow_insecure_http":
        switch Word(entry.value) {
        case "yes", "true", "1": allowInsecureHTTP = true
        case "no", "false", "0": allowInsecureHTTP = false
        default: throw invalid("expected yes or no")
        }
      case "vault_backend":
        switch Word(entry.value) {
        case "file": vaultBackend = .file
        case "mtd": vaultBackend = .mtd
        default: throw invalid("expected file or mtd")
        }
      case "vault_path":
        guard entry.value.utf8.first == UInt8(ascii: "/") else { throw invalid("must be an absolute path") }
        vaultPath = entry.value
      case "vault_owner":
        let bytes = Array(entry.value.utf8)
        guard (1...32).contains(bytes.count), bytes[0] != UInt8(ascii: "-"),
          bytes.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { throw invalid("expected a user name (1-32 of a-z A-Z 0-9 - _)") }
        vaultOwner = entry.value
      case "key_source":
        guard let source = KeySource.parse(entry.value) else {
          throw invalid("expected file:/path, qemu-fw-cfg:NAME or development")
        }
        keySource = source
      case "anti_rollback":
        if Word(entry.value) == "none" {
          antiRollbackTPM = nil
        } else if !AgentConfig.hasSecureElement {
          throw invalid("this build has no TPM support (cross/build.sh SECURE_ELEMENT=none): only none")
        } else if ASCII.hasPrefixIgnoringCase(entry.value, "tpm:"),
          Array(entry.value.utf8).dropFirst(4).first == UInt8(ascii: "/")
        {
          antiRollbackTPM = String(decoding: Array(entry.value.utf8).dropFirst(4), as: UTF8.self)
        } else {
          throw invalid("expected none or tpm:/dev/tpmrm0 (an absolute path)")
        }
      case "identity_key":
        guard let storage = IdentityKeyStorage.parse(entry.value) else {
          throw invalid("expected software, tpm2 or tpm2:TCTI (e.g. tpm2:device:/dev/tpmrm0)")
        }
        guard storage.isSoftware || AgentConfig.hasSecureElement else {
          throw invalid("this build has no TPM support (cross/build.sh SECURE_ELEMENT=none): only software")
        }
        identityKeyStorage = storage
      case "firmware_version_source":
        guard let source = FirmwareVersionSource.parse(entry.value) else {
          throw invalid("expected os-release:/path, keyvalue:/path:KEY or uboot-env:/path:KEY")
        }
        firmwareVersionSource = source
      case "state_file":
        guard entry.value.utf8.first == UInt8(ascii: "/") else { throw invalid("must be an absolute path") }
        stateFile = entry.value
      case "reauth_spread_seconds":
        reauthSpreadSeconds = try Self.integer(entry.value, in: 0...86_400, invalid)
      case "backoff_base_ms":
        backoffBaseMs = try Self.integer(entry.value, in: 1...600_000, invalid)
      case "backoff_cap_ms":
        backoffCapMs = try Self.integer(entry.value, in: 1...3_600_000, invalid)
      case "log_level":
        guard let level = LogLevel.parse(entry.value) else {
          throw invalid("expected error, warning, notice, info or debug")
        }
        logLevel = level
      case "syslog":
        switch Word(entry.value) {
        case "yes", "true", "1": syslogSocket = syslogSocket ?? "/dev/log"
        case "no", "false", "0": syslogSocket = nil
        default: throw invalid("expected yes or no")
        }
      case "syslog_socket":
        guard entry.value.utf8.first == UInt8(ascii: "/"), entry.value.utf8.count < 108 else {
          throw invalid("must be an absolute path shorter than 108 bytes")
        }
        syslogSocket = entry.value
      case "hook":
        guard entry.value.utf8.first == UInt8(ascii: "/") else { throw invalid("must be an absolute path") }
        hook = entry.value
      case "hook_timeout_ms":
        hookTimeoutMs = try Self.integer(entry.value, in: 100...60_000, invalid)
      case "report_interval_seconds":
        reportIntervalSeconds = try Self.integer(entry.value, in: 0...604_800, invalid)
        if reportIntervalSeconds != 0 && reportIntervalSeconds < 10 {
          throw invalid("\(reportIntervalSeconds) is below 10 (0 turns periodic reports off)")
        }
      case "report_jitter_seconds":
        reportJitterSeconds = try Self.integer(entry.value, in: 0...86_400, invalid)
      case "activation_report_delay_seconds":
        activationReportDelaySeconds = try Self.integer(entry.value, in: 0...86_400, invalid)
      case "startup_delay_ms":
        startupDelayMs = try Self.integer(entry.value, in: 0...600_000, invalid)
      case "refresh_floor_seconds":
        refreshFloorSeconds = try Self.integer(entry.value, in: 1...86_400, invalid)
      case "pairing_backoff_base_seconds":
        pairingBackoffBaseSeconds = try Self.integer(entry.value, in: 1...86_400, invalid)
      case "pairing_backoff_cap_seconds":
        pairingBackoffCapSeconds = try Self.integer(entry.value, in: 1...604_800, invalid)
      case "identity_retry_base_seconds":
        identityRetryBaseSeconds = try Self.integer(entry.value, in: 1...86_400, invalid)
      case "identity_retry_cap_seconds":
        identityRetryCapSeconds = try Self.integer(entry.value, in: 1...604_800, invalid)
      default:
        throw .unknownKey(path: file.path, line: entry.line, key: entry.key)
      }
    }
    // Checked once every key is read: allow_insecure_http may come later in the file.
    for (key, value, line) in [("server", server, serverLine), ("api_base", apiBase ?? "", apiBaseLine)]
    where line > 0 {
      if ASCII.hasPrefixIgnoringCase(value, "http://") && !allowInsecureHTTP {
        throw .invalidValue(
          path: file.path, line: line, key: key,
          reason: "http:// needs allow_insecure_http = yes (development only)")
      }
      do throws(OAuthMessageError) {
        try EndpointURL.validate(value, field: key, allowPlainHTTP: allowInsecureHTTP, allowQuery: false)
      } catch {
        throw .invalidValue(path: file.path, line: line, key: key, reason: Self.reason(error))
      }
    }
  }

  /// The report API's base: `api_base`, or the issuer's origin
  /// (`https://host[:port]` of `server`) when it is not set.
  public var effectiveAPIBase: String { apiBase ?? WellKnownURL.origin(server) ?? server }

  private static func reason(_ error: OAuthMessageError) -> String {
    if case .invalidValue(_, let reason) = error { return reason }
    return error.description
  }

  /// The jitter added to each periodic report interval, in seconds.
  public var effectiveReportJitterSeconds: Int { reportJitterSeconds ?? reportIntervalSeconds / 10 }

  /// The storm-control settings the daemon runs with.
  public var stormPolicy: StormPolicy {
    StormPolicy(
      reauthSpreadMilliseconds: Int64(reauthSpreadSeconds) * 1_000,
      backoffBaseMilliseconds: Int64(backoffBaseMs),
      backoffCapMilliseconds: Int64(max(backoffCapMs, backoffBaseMs)))
  }

  public var httpPolicy: HTTPPolicy {
    HTTPPolicy(
      caFile: caFile, connectTimeoutMs: connectTimeoutMs, totalTimeoutMs: totalTimeoutMs,
      maxResponseBytes: maxResponseBytes, allowPlainHTTP: allowInsecureHTTP)
  }

  private static func integer(
    _ text: String, in range: ClosedRange<Int>, _ invalid: (String) -> ConfigError
  ) throws(ConfigError) -> Int {
    guard let value = Int(text) else { throw invalid("'\(ConfigError.quoted(text))' is not a whole number") }
    guard range.contains(value) else {
      throw invalid("\(value) is outside \(range.lowerBound)...\(range.upperBound)")
    }
    return value
  }
}
