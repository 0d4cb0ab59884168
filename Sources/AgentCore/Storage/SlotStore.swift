/// Durable storage for the vault's records: a fixed number of slots, each
/// holding one opaque record or nothing. The vault (Vault/) decides which slot
/// to write and never overwrites the slot holding its newest good record, so a
/// store only has to make a single slot write all-or-detectably-nothing:
///
/// - `write` returns only when the record is durable (fsync'd, or programmed
///   and read back), and a write torn by a power cut must read back as `nil`
///   or `.torn`, never as a different valid record;
/// - `read` never returns bytes that failed the store's own integrity check
///   (framing CRC, commit marker); authenticity is the vault's job (AES-GCM).
public protocol SlotStore {
  var slotCount: Int { get }
  /// The largest record `write` accepts, in bytes.
  var recordCapacity: Int { get }

  /// Called once before use: recovers from an interrupted write (a stale
  /// temporary file, say). Must not destroy any complete record.
  mutating func recover() throws(StoreError)

  mutating func read(slot: Int) throws(StoreError) -> SlotContent
  mutating func write(slot: Int, record: [UInt8]) throws(StoreError)
  /// Makes the slot empty, destroying its record: afterwards no readable
  /// copy of it is left on the medium. Durable on return.
  mutating func erase(slot: Int) throws(StoreError)
  /// Makes this process the vault's only writer until the store (every copy
  /// of it) is gone: the daemon for its lifetime, `wipe`, `reauth` and
  /// `provision` for theirs. Never waits: throws `.busy` when another process
  /// holds it. Readers (`status`) need no ownership.
  mutating func takeOwnership() throws(StoreError)
  /// Gives ownership up (every copy of the store loses it): the daemon of an
  /// unprovisioned board, which waits for `provision` and SIGHUP, must not
  /// refuse that `provision`.
  mutating func releaseOwnership()
}

extension SlotStore {
  /// Stores without an owner lock (in-memory doubles) have nothing to release.
  public mutating func releaseOwnership() {}
}

/// What a slot holds.
public enum SlotContent: Equatable {
  case empty
  /// A complete record whose framing checks out.
  case record([UInt8])
  /// A write or erase that never completed (a power cut): no record was ever
  /// committed here, so the slot counts as empty. Only raw flash reports this.
  case interrupted(String)
  /// A committed record that no longer checks out (bit rot, tampering, a
  /// truncated file). Not the same as empty: the vault reports it.
  case damaged(String)
}

/// Why the store could not do what was asked. Nothing here carries record bytes.
public enum StoreError: Error, Equatable, CustomStringConvertible {
  case system(SystemError)
  /// The record does not fit in a slot.
  case recordTooLarge(size: Int, capacity: Int)
  /// Read-back after programming did not match what was written.
  case verifyFailed(slot: Int)
  /// The medium is not usable as configured (geometry, permissions, missing device).
  case unusable(String)
  /// The simulated power went out (flash simulator only).
  case powerLost
  /// Another process owns the vault (`takeOwnership`); `holder` is its pid,
  /// 0 when it cannot be told.
  case busy(holder: Int)

  public var description: String {
    switch self {
    case .system(let error): return error.description
    case .recordTooLarge(let size, let capacity):
      return "record of \(size) bytes does not fit a \(capacity)-byte slot"
    case .verifyFailed(let slot): return "slot \(slot): read-back after write did not match"
    case .unusable(let why): return why
    case .powerLost: return "power lost (simulated)"
    case .busy(let holder):
      let who = holder > 0 ? "process \(holder)" : "another process"
      return "the vault is in use by \(who) (the running daemon, or another command changing the vault)"
    }
  }
}
