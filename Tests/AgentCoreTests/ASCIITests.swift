import Testing

@testable import AgentCore

@Suite struct ASCIITests {
  @Test func remainderIsWhatFollowsAPrefixThatIsNotAlone() {
    func after(_ text: String, _ prefix: String) -> String? {
      ASCII.remainder(of: Array(text.utf8), after: prefix).map { String(decoding: $0, as: UTF8.self) }
    }
    #expect(after("device:/dev/tpm0", "device:") == "/dev/tpm0")
    #expect(after("swtpm:port=2321", "swtpm:") == "port=2321")
    // A bare prefix names nothing; a shorter or different text does not match.
    #expect(after("device:", "device:") == nil)
    #expect(after("dev", "device:") == nil)
    #expect(after("Device:/dev/tpm0", "device:") == nil)
    #expect(after("xdevice:/dev/tpm0", "device:") == nil)
    #expect(after("", "tpm2:") == nil)
  }

  @Test func identityStorageNamesAreParsedOnBytes() {
    #expect(IdentityKeyStorage.parse("software")?.description == "software")
    #expect(IdentityKeyStorage.parse("tpm2")?.description == "tpm2")
    #expect(IdentityKeyStorage.parse("tpm2:device:/dev/tpmrm0")?.description == "tpm2:device:/dev/tpmrm0")
    #expect(IdentityKeyStorage.parse("tpm2:") == nil)
    #expect(IdentityKeyStorage.parse("tpm2:dev ice") == nil)
    #expect(IdentityKeyStorage.parse("tpm2:" + String(repeating: "a", count: 257)) == nil)
    #expect(IdentityKeyStorage.parse("tpm2:" + String(repeating: "a", count: 256)) != nil)
    #expect(IdentityKeyStorage.parse("TPM2") == nil)
  }
}
