// Slot frame (Storage/SlotFrame.swift): see checks/FlashDecoders.swift.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSlotFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  if let failure = checkSlotFrame(fuzzInput(data, size)) { fatalError("property failed: \(failure)") }
  return 0
}
