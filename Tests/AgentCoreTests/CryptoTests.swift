import AgentCore
import Testing

@Suite struct CryptoTests {
  @Test func sha256KnownVectors() throws {
    #expect(
      Hex.encode(try SHA256.hash([]))
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      Hex.encode(try SHA256.hash(Array("abc".utf8)))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  @Test func hkdfRFC5869Vectors() throws {
    let ikm = SecretBytes([UInt8](repeating: 0x0b, count: 22))
    let case1 = try HKDF.deriveSHA256(
      inputKeyMaterial: ikm, salt: Hex.decode("000102030405060708090a0b0c")!,
      info: Hex.decode("f0f1f2f3f4f5f6f7f8f9")!, outputLength: 42)
    #expect(
      Hex.encode(case1.revealCopy())
        == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    // Test case 3: empty salt and info.
    let case3 = try HKDF.deriveSHA256(inputKeyMaterial: ikm, salt: [], info: [], outputLength: 42)
    #expect(
      Hex.encode(case3.revealCopy())
        == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    #expect(throws: CryptoError.self) {
      _ = try HKDF.deriveSHA256(inputKeyMaterial: ikm, salt: [], info: [], outputLength: 0)
    }
  }

  @Test func aesGCMKnownAnswers() throws {
    let key = SecretBytes([UInt8](repeating: 0, count: 32))
    let nonce = [UInt8](repeating: 0, count: 12)
    // McGrew & Viega test case 13: empty plaintext.
    let empty = try AESGCM.seal(SecretBytes([]), key: key, nonce: nonce, aad: [])
    #expect(empty.ciphertext.isEmpty)
    #expect(Hex.encode(empty.tag) == "530f8afbc74536b9a963b4f1c4cb738b")
    // Test case 14: one zero block.
    let block = try AESGCM.seal(
      SecretBytes([UInt8](repeating: 0, count: 16)), key: key, nonce: nonce, aad: [])
    #expect(Hex.encode(block.ciphertext) == "cea7403d4d606b6e074ec5d3baf39d18")
    #expect(Hex.encode(block.tag) == "d0d1c8a799996bf0265b98b5d48ab919")
  }

  @Test func aesGCMRejectsEveryModifiedByte() throws {
    var random = SystemRandom()
    let key = SecretBytes(try random.bytes(32))
    let nonce = try random.bytes(12)
    let aad = Array("aad".utf8)
    let message = try random.bytes(24)
    let sealed = try AESGCM.seal(SecretBytes(message), key: key, nonce: nonce, aad: aad)
    #expect(try AESGCM.open(sealed, key: key, nonce: nonce, aad: aad).revealCopy() == message)
    var rejections = 0
    for index in 0..<(sealed.ciphertext.count + sealed.tag.count) {
      var modified = sealed
      if index < sealed.ciphertext.count {
        modified.ciphertext[index] ^= 0x40
      } else {
        modified.tag[index - sealed.ciphertext.count] ^= 0x40
      }
      #expect(throws: CryptoError.authenticationFailed) {
        _ = try AESGCM.open(modified, key: key, nonce: nonce, aad: aad)
      }
      rejections += 1
    }
    #expect(rejections == 40)
    var otherNonce = nonce
    otherNonce[11] ^= 1
    #expect(throws: CryptoError.authenticationFailed) {
      _ = try AESGCM.open(sealed, key: key, nonce: otherNonce, aad: aad)
    }
    #expect(throws: CryptoError.invalidInput("GCM nonce length 11")) {
      _ = try AESGCM.open(sealed, key: key, nonce: Array(nonce[0..<11]), aad: aad)
    }
    #expect(throws: CryptoError.invalidInput("AES-256 key length 16")) {
      _ = try AESGCM.seal(
        SecretBytes(message), key: SecretBytes([UInt8](repeating: 1, count: 16)),
        nonce: nonce, aad: aad)
    }
  }

  @Test func es256SignVerifyAndDERRoundTrip() throws {
    let key = try P256PrivateKey.generate()
    let publicKey = try key.publicKey()
    let message = Array("header.payload".utf8)
    let signature = try key.signES256(message)
    #expect(signature.count == 64)
    try publicKey.verifyES256(signature: signature, message: message)
    var bad = signature
    bad[10] ^= 1
    #expect(throws: CryptoError.invalidSignature) {
      try publicKey.verifyES256(signature: bad, message: message)
    }
    let reloaded = try P256PrivateKey.fromDER(try key.derRepresentation())
    #expect(try reloaded.publicKey().x == publicKey.x)
    #expect(try reloaded.publicKey().y == publicKey.y)
    // The same public key rebuilt from its coordinates verifies the signature.
    let rebuilt = try P256PublicKey(x: publicKey.x, y: publicKey.y)
    try rebuilt.verifyES256(signature: signature, message: message)
  }

  @Test func invalidKeysAreRefused() {
    #expect(throws: CryptoError.self) {
      _ = try P256PrivateKey.fromDER(SecretBytes(Array("not a key".utf8)))
    }
    // (1, 1) is not on P-256.
    var one = [UInt8](repeating: 0, count: 32)
    one[31] = 1
    #expect(throws: CryptoError.invalidInput("not a point on P-256")) {
      _ = try P256PublicKey(x: one, y: one)
    }
  }

  @Test func hexRoundTripAndRejects() {
    #expect(Hex.decode("00ff10Ab") == [0x00, 0xff, 0x10, 0xab])
    #expect(Hex.encode([0x00, 0xff, 0x10, 0xab]) == "00ff10ab")
    #expect(Hex.decode("abc") == nil)
    #expect(Hex.decode("zz") == nil)
  }

  @Test func uniformStaysBelowBound() throws {
    var random = SystemRandom()
    for _ in 0..<1000 {
      #expect(try random.uniform(below: 7) < 7)
    }
  }
}
