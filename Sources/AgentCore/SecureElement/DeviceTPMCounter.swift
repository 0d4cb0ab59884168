/// The anti-rollback counter on the board's own TPM (/dev/tpmrm0): the one
/// concrete instantiation the agent links. Being non-generic, it is also what
/// makes the Embedded build compile every counter path (generic code is only
/// compiled there when something specializes it).
public struct DeviceTPMCounter {
  private var counter: TPMMonotonicCounter<DeviceTPMTransport>

  public init(
    path: String = "/dev/tpmrm0", index: UInt32 = TPMMonotonicCounter<DeviceTPMTransport>.defaultIndex
  ) throws(TPMError) {
    counter = TPMMonotonicCounter(transport: try DeviceTPMTransport(path: path), index: index)
  }

  public mutating func openOrCreate() throws(TPMError) -> UInt64 { try counter.openOrCreate() }
  public mutating func read() throws(TPMError) -> UInt64 { try counter.read() }
  public mutating func increment() throws(TPMError) -> UInt64 { try counter.increment() }
}
