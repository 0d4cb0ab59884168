// Vault record header (Vault/VaultRecord.swift): see checks/FlashDecoders.swift.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVaultRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  if let failure = checkVaultRecord(fuzzInput(data, size)) { fatalError("property failed: \(failure)") }
  return 0
}
