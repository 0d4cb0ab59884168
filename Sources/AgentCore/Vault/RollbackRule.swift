/// The vault's anti-rollback rule, as one pure function of what the newest
/// authentic record says (`VaultContents.rollbackCounter`, the value r it
/// was written with) and what the board's monotonic counter holds now (c).
///
/// A commit reads c, writes its record with r = c + 1, and only then
/// increments the counter to c + 1. A power cut can fall between the write
/// and the increment, so a record one ahead of the counter is the current
/// one whose increment was lost, and opening it as the owner finishes the
/// increment. Anything else is refused: a record behind the counter is a
/// flash image from before a later commit (a thief restoring the vault to
/// replay a rotated-away refresh token, or an old firmware's vault), and a
/// record two or more ahead was never written against this counter (another
/// TPM, or a counter that was redefined, which the TPM only lets start
/// above every earlier value).
public enum RollbackRule {
  public enum Verdict: Equatable {
    /// r = c: the record is current.
    case current
    /// r = c + 1: the commit's increment was lost to a cut; the owner
    /// increments now, a reader accepts without writing to the counter.
    case incrementPending
    /// The record does not belong with this counter value.
    case refused(recorded: UInt64, counter: UInt64)
    /// The record carries no counter value: written by a vault that was not
    /// bound, so nothing says how old it is.
    case unbound(counter: UInt64)
  }

  public static func verdict(recorded: UInt64?, counter: UInt64) -> Verdict {
    guard let recorded else { return .unbound(counter: counter) }
    if recorded == counter { return .current }
    // One ahead is exactly what a commit writes; a counter read as 2^64 - 1
    // has no successor, so no record can be one ahead of it.
    if recorded == valueToWrite(counter: counter) { return .incrementPending }
    return .refused(recorded: recorded, counter: counter)
  }

  /// The value a commit writes when the counter holds `counter` (nil: the
  /// counter cannot go up again, so no commit can be bound).
  public static func valueToWrite(counter: UInt64) -> UInt64? {
    counter < UInt64.max ? counter + 1 : nil
  }
}
