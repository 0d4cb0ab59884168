/// The anti-rollback counter on the board's own TPM (the kernel's resource
/// manager, /dev/tpmrm0): the one instantiation the agent links, made by
/// `VaultAccess` when the configuration sets `anti_rollback = tpm:PATH`.
public typealias DeviceTPMCounter = TPMRollbackCounter<DeviceTPMTransport>

extension TPMRollbackCounter where Transport == DeviceTPMTransport {
  public convenience init(
    path: String = "/dev/tpmrm0", index: UInt32 = TPMMonotonicCounter<DeviceTPMTransport>.defaultIndex
  ) throws(TPMError) {
    self.init(transport: try DeviceTPMTransport(path: path), index: index)
  }
}
