/// Why a TPM 2.0 exchange failed. Every byte of a response is untrusted: a
/// short, oversized or inconsistent answer is `.malformedResponse`, never a
/// trap; a TPM that answered with an error keeps its response code.
public enum TPMError: Error, Equatable, CustomStringConvertible {
  /// The transport (device node or socket) failed before a response arrived.
  case transport(SystemError)
  /// The TPM refused `command` (a TPM_CC value) with response code `rc`.
  case responseCode(command: UInt32, rc: UInt32)
  /// The response did not parse; `reason` says which check failed.
  case malformedResponse(command: UInt32, reason: String)
  /// An NV index exists at our handle but is not the counter we define: an
  /// ordinary, bit or extend index there could be written back to an old
  /// value, so it must never be trusted as the anti-rollback counter.
  case notOurCounter(index: UInt32, attributes: UInt32, dataSize: UInt16, nameAlg: UInt16)
  /// No NV index at the counter's handle (read or increment before `openOrCreate`).
  case counterAbsent(index: UInt32)
  /// ReadPublic answered for another handle than the one asked.
  case indexMismatch(asked: UInt32, answered: UInt32)
  /// A persistent object sits at one of the identity key's handles but is
  /// not a key the agent makes: it is never evicted or used.
  case notOurKey(handle: UInt32, attributes: UInt32)

  /// The TPM's response code with the format-1 parameter/handle/session
  /// number masked off (TPM 2.0 Part 2, 6.6): `TPM_RC_HANDLE` for any handle.
  public var baseResponseCode: UInt32? {
    guard case .responseCode(_, let rc) = self else { return nil }
    return TPMResponseCode.base(rc)
  }

  public var description: String {
    switch self {
    case .transport(let error):
      return "TPM transport: \(error.description)"
    case .responseCode(let command, let rc):
      return "TPM command 0x\(Self.hex(command)) failed: rc 0x\(Self.hex(rc))"
        + (TPMResponseCode.name(rc).map { " (\($0))" } ?? "")
    case .malformedResponse(let command, let reason):
      return "TPM command 0x\(Self.hex(command)): malformed response: \(reason)"
    case .notOurCounter(let index, let attributes, let dataSize, let nameAlg):
      return "NV index 0x\(Self.hex(index)) is not the agent's monotonic counter (attributes 0x"
        + "\(Self.hex(attributes)), size \(dataSize), nameAlg 0x\(Self.hex(UInt32(nameAlg)))): refusing it,"
        + " an index that is not a TPM counter could be rolled back"
    case .counterAbsent(let index):
      return "no monotonic counter at NV index 0x\(Self.hex(index))"
    case .indexMismatch(let asked, let answered):
      return "TPM answered for NV index 0x\(Self.hex(answered)) when asked for 0x\(Self.hex(asked))"
    case .notOurKey(let handle, let attributes):
      return
        "persistent handle 0x\(Self.hex(handle)) holds an object camera-agent did not make (attributes 0x"
        + "\(Self.hex(attributes))): refusing to evict or use it"
    }
  }

  static func hex(_ value: UInt32) -> String {
    // utf8.count, not count: the digits are ASCII, and String.count walks
    // grapheme clusters, which links the grapheme-breaking tables (issue 14).
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.utf8.count)) + digits
  }
}

/// The few TPM_RC values the counter acts on (TPM 2.0 Part 2, 6.6.3).
public enum TPMResponseCode {
  public static let success: UInt32 = 0x000
  /// Format 1 (bit 7 set): the error is in bits 0-5, bits 6 and 8-11 say
  /// which handle, parameter or session it concerns.
  public static let format1: UInt32 = 0x080
  /// Format 1: the handle does not name an object or index (an absent NV index).
  public static let handle: UInt32 = 0x08B
  /// Format 0: an NV index that was never written (a counter before its first increment).
  public static let nvUninitialized: UInt32 = 0x14A
  /// Format 0: NV_DefineSpace on a handle already defined.
  public static let nvDefined: UInt32 = 0x14C
  /// Format 1: the authorization failed.
  public static let authFail: UInt32 = 0x08E
  /// Warning: NV writes are being rate-limited (wear protection): retry later.
  public static let nvRate: UInt32 = 0x920
  /// Warning: the TPM is in dictionary-attack lockout.
  public static let lockout: UInt32 = 0x921

  public static func base(_ rc: UInt32) -> UInt32 {
    rc & format1 != 0 ? rc & 0x0BF : rc
  }

  static func name(_ rc: UInt32) -> String? {
    switch base(rc) {
    case handle: return "TPM_RC_HANDLE"
    case nvUninitialized: return "TPM_RC_NV_UNINITIALIZED"
    case nvDefined: return "TPM_RC_NV_DEFINED"
    case authFail: return "TPM_RC_AUTH_FAIL"
    case nvRate: return "TPM_RC_NV_RATE"
    case lockout: return "TPM_RC_LOCKOUT"
    default: return nil
    }
  }
}
