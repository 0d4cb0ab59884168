/// "Destroy means destroyed" (SPEC, Credential vault): a commit that removes
/// secrets leaves no older authentic record holding them on the medium.
///
/// Only such commits erase the older slot; an ordinary commit (a token
/// rotation, a report's bookkeeping) keeps the previous generation. Why not
/// erase on every commit:
/// - the previous generation is the fallback when the newest record rots or
///   is torn later ("a corrupted record is rejected and the other slot used");
///   with one record at rest, one bad bit would cost the owner a re-approval;
/// - on raw flash a two-slot commit already erases the slot it writes; erasing
///   the other too would double the erases per rotation;
/// - what the previous generation holds is the same session under the same
///   DPoP key: its refresh token is the one the cloud just rotated away (dead
///   once the new one is used), not a secret the owner asked to destroy.
///   Rollback of that record by a thief with the flash is the documented
///   limit of a vault without a monotonic counter, and erasing would not
///   close it (the thief may have imaged the flash before).
///
/// A commit destroys when, compared with the contents it replaces, the
/// device id or the identity key changes or goes (`provision --force`), the
/// DPoP session key changes or goes (a forced logout, `reauth`, a new
/// activation), or the refresh or access token goes without a successor.
public enum VaultDestroyRule {
  public static func destroys(replacing old: VaultContents, with new: VaultContents) -> Bool {
    if Word(old.deviceID) != Word(new.deviceID) { return true }
    if replaced(old.identityKey, by: new.identityKey) { return true }
    if replaced(old.identityKeyReference, by: new.identityKeyReference) { return true }
    if replaced(old.dpopKey, by: new.dpopKey) { return true }
    if old.refreshToken != nil && new.refreshToken == nil { return true }
    if old.accessToken != nil && new.accessToken == nil { return true }
    return false
  }

  /// True when `old` held a secret that `new` lacks or holds differently.
  private static func replaced(_ old: SecretBytes?, by new: SecretBytes?) -> Bool {
    guard let old else { return false }
    guard let new else { return true }
    return !old.equals(new)
  }
}

/// What `Vault.commit` did besides making the new record current.
public enum VaultCommitOutcome: Equatable, CustomStringConvertible {
  /// Committed; the previous generation stays as the fallback.
  case committed
  /// Committed, and the older slot was erased: the commit destroyed secrets
  /// (`VaultDestroyRule`, or `destroying: true`).
  case committedAndDestroyedOlder
  /// Committed, but erasing the older slot failed (the reason): its secrets
  /// are still on the medium. The vault retries before its next write to
  /// that slot, and `completePendingDestroy()` retries on demand.
  case committedDestroyPending(String)

  public var description: String {
    switch self {
    case .committed: return "committed"
    case .committedAndDestroyedOlder: return "committed; the older record was erased"
    case .committedDestroyPending(let why):
      return "committed, but the older record could not be erased: \(why)"
    }
  }
}
