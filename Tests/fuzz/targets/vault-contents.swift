// Vault contents TLV (Vault/VaultContents.swift): see checks/FlashDecoders.swift.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVaultContents(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  if let failure = checkVaultContents(fuzzInput(data, size)) { fatalError("property failed: \(failure)") }
  return 0
}
