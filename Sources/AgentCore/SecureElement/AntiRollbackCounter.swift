/// A counter that only goes up, kept outside the flash the vault lives on
/// (a TPM 2.0 NV counter): what lets the vault tell its newest record from
/// an older image of the same flash (`RollbackRule`).
///
/// Class-bound, so the vault can hold one as `any AntiRollbackCounter`
/// without a second generic parameter on every command and driver (a
/// non-class existential does not compile in Embedded Swift).
public protocol AntiRollbackCounter: AnyObject {
  /// The counter's value. With `create`, an absent counter is defined first
  /// (the owner provisioning a board); without it, absent is an error.
  func value(create: Bool) throws(TPMError) -> UInt64
  /// Adds one; returns the new value.
  func increment() throws(TPMError) -> UInt64
}

/// The vault's counter on a TPM reached through `Transport`: the board's
/// /dev/tpmrm0 (`DeviceTPMCounter`), swtpm in the tests, `MemoryTPM` in the
/// power-cut loops.
public final class TPMRollbackCounter<Transport: TPMTransport>: AntiRollbackCounter {
  private var counter: TPMMonotonicCounter<Transport>

  public init(transport: Transport, index: UInt32 = TPMMonotonicCounter<Transport>.defaultIndex) {
    counter = TPMMonotonicCounter(transport: transport, index: index)
  }

  public var index: UInt32 { counter.index }

  public func value(create: Bool) throws(TPMError) -> UInt64 {
    create ? try counter.openOrCreate() : try counter.read()
  }

  public func increment() throws(TPMError) -> UInt64 { try counter.increment() }
}
