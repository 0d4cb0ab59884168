import Foundation
import Testing

@testable import AgentCore

/// Replays the inputs kept in Tests/fuzz/regressions/ (each a fault the
/// fuzzers found, issue 17) through the code that was wrong. The files are
/// in the fuzz targets' format: for the flash and key targets the first byte
/// selects the target's mode (0 = the input as is).
@Suite struct FuzzRegressionTests {
  static let folder = TestPaths.repository.appendingPathComponent("Tests/fuzz/regressions")

  static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
    let directory = folder.appendingPathComponent(target)
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    return try names.map { name in
      (name, Array(try Data(contentsOf: directory.appendingPathComponent(name))))
    }
  }

  /// The ciphertext length field of a record, read the way the header lays it out.
  static func ciphertextLength(_ record: [UInt8]) -> UInt32? {
    guard record.count > 17 else { return nil }
    let at = 17 + Int(record[16]) + AESGCM.nonceSize
    guard record.count >= at + 4 else { return nil }
    return (0..<4).reduce(UInt32(0)) { $0 | UInt32(record[at + $1]) << UInt32(8 * $1) }
  }

  @Test func vaultRecordsWithHugeLengthsAreRefused() throws {
    let kept = try Self.inputs("vault-record")
    #expect(kept.count >= 3)
    for (name, bytes) in kept {
      let record = Array(bytes.dropFirst())
      let length = try #require(Self.ciphertextLength(record), "\(name)")
      // What makes each one a 32-bit trap: a length past what a 32-bit Int
      // holds, or one that overflows index + count there.
      #expect(length >= 0x7FFF_FFFF, "\(name)")
      #expect(VaultRecord.parse(record) == nil, "\(name)")
    }
  }

  /// The 64-bit face of the same fault: `index + count` overflowed here too
  /// when a count near Int.max met a non-zero index (the old `take` trapped).
  @Test func byteReaderNeverAddsBeforeComparing() {
    var reader = ByteReader([1, 2, 3])
    #expect(reader.byte() == 1)
    #expect(reader.take(Int.max) == nil)
    #expect(reader.take(length: UInt32.max) == nil)
    #expect(reader.take(length: 2) == [2, 3])
    #expect(reader.atEnd && reader.take(length: 0) == [])
    #expect(reader.take(-1) == nil)
  }

  @Test func slotFramesWithHugeLengthsAreNotRecords() throws {
    for (name, bytes) in try Self.inputs("slot-frame") {
      let area = Array(bytes.dropFirst())
      let content = SlotFrame.parse(area, alignment: 1, allowTrailingBytes: false)
      if case .record(let payload) = content {
        // The frame may be intact; the record inside must still be refused.
        #expect(VaultRecord.parse(payload) == nil, "\(name)")
      }
      #expect(SlotFrame.committedMarkerOffset(area).map { $0 <= area.count - 4 } ?? true, "\(name)")
    }
  }

  @Test func generationNeverWraps() {
    #expect(VaultRecord.generation(after: nil) == 1)
    #expect(VaultRecord.generation(after: 41) == 42)
    #expect(VaultRecord.generation(after: UInt64.max - 1) == UInt64.max)
    #expect(VaultRecord.generation(after: UInt64.max) == nil)
  }

  @Test func mismatchedKeyPairIsRefused() throws {
    let kept = try Self.inputs("key-import")
    #expect(!kept.isEmpty)
    for (name, bytes) in kept {
      let der = Array(bytes.dropFirst())
      #expect(throws: CryptoError.self, "\(name)") { try P256PrivateKey.fromDER(SecretBytes(der)) }
    }
  }

  /// The same fault made fresh: one key's scalar with another's public point.
  @Test func anyKeyWithAnotherKeysPointIsRefused() throws {
    for _ in 0..<8 {
      let own = try P256PrivateKey.generate().derRepresentation().revealCopy()
      let other = try P256PrivateKey.generate().derRepresentation().revealCopy()
      #expect(own.count == 121 && other.count == 121)
      #expect(throws: Never.self) { try P256PrivateKey.fromDER(SecretBytes(own)) }
      let mixed = Array(own.dropLast(64)) + Array(other.suffix(64))
      #expect(throws: CryptoError.self) { try P256PrivateKey.fromDER(SecretBytes(mixed)) }
    }
  }

  @Test func keywordsAfterPunctuationAreMasked() throws {
    let text = String(
      decoding: try #require(Self.inputs("log-mask").first { $0.name == "prefixed-keywords" }).bytes,
      as: UTF8.self)
    let line = LogSafeText.line(text)
    for secret in ["hunter2", "topsecret", "Abc123", "abc123", "t1", "c1"] {
      #expect(!line.contains(secret), "\(secret) in \(line)")
    }
    #expect(
      LogSafeText.line("=code=\u{0}") == "=code=[masked]",
      "the fuzzer's minimized input: the NUL becomes '?', a value")
  }

  /// Found by the campaign: a value that ended at a percent-escaped quote
  /// left the token-shaped run after it unjudged.
  @Test func runAfterAMaskedValueIsJudged() throws {
    let kept = try #require(Self.inputs("log-mask").first { $0.name == "run-after-masked-value" })
    let line = LogSafeText.line(String(decoding: kept.bytes, as: UTF8.self))
    #expect(!line.contains("22ywwwwwwwwassertion"), "\(line)")
    #expect(LogMask.apply("code=abc%22Zq7xW2pL9kZq7xW2pL9k next") == "code=[masked][masked] next")
  }

  /// Found in review after the 2026-12-02 campaign (the oracle then allowed
  /// it): a form-encoded value that begins with an escaped delimiter
  /// (`psk=%3Bk8...`) counted as empty, so the secret after it was logged.
  @Test func valueStartingWithAnEscapedDelimiterIsMasked() throws {
    let kept = try #require(Self.inputs("log-mask").first { $0.name == "escaped-delimiter-first" })
    let line = LogSafeText.line(String(decoding: kept.bytes, as: UTF8.self))
    for secret in ["k8QzWp2", "hunter2", "%26pw"] {
      #expect(!line.contains(secret), "\(secret) in \(line)")
    }
    #expect(line.contains("ssid=home"), "the next field is left alone: \(line)")
    #expect(LogMask.apply("psk=%3B%3Bab next") == "psk=[masked]%3Bab next")
  }

  @Test func lineLimitIncludesTheEllipsis() throws {
    let text = String(
      decoding: try #require(Self.inputs("log-mask").first { $0.name == "line-limit" }).bytes, as: UTF8.self)
    #expect(text.utf8.count > LogSafeText.lineLimit)
    let line = Logger.render("\(text)")
    #expect(line.utf8.count == 1_024)
    #expect(line.hasSuffix("..."))
    // Exactly 1,024 characters are kept whole; one more is cut.
    let exact = String(repeating: "ab ", count: 341) + "a"
    #expect(exact.utf8.count == 1_024)
    #expect(LogSafeText.line(exact) == exact)
    #expect(LogSafeText.line(exact + "b") == String(repeating: "ab ", count: 340) + "a...")
  }

  /// Found by the vault-contents fuzzer in a CI-style run (2026-12-04): a
  /// record in ascending tag order with an identity key reference (tag 13)
  /// re-encoded with tag 13 right after tag 2. Canonical records must
  /// re-encode to their own bytes, so every field goes out in tag order.
  @Test func canonicalContentsWithAKeyReferenceReEncodeToThemselves() throws {
    let kept = try #require(Self.inputs("vault-contents").first { $0.name == "reference-after-timestamps" })
    let contents = try VaultContents.decode(SecretBytes(kept.bytes))
    #expect(contents.identityKeyReference != nil)
    #expect(contents.encoded().revealCopy() == kept.bytes)
    // Every field at once: the tags come out ascending.
    var full = VaultContents(deviceID: "cam-order-1")
    full.identityKeyReference = SecretBytes([1, 4, 116, 112, 109, 50, 0, 1, 9])
    full.dpopKey = SecretBytes([3, 3])
    full.accessToken = SecretBytes([4])
    full.accessTokenExpiry = 5
    full.refreshToken = SecretBytes([6])
    full.lastActivation = 7
    full.provisionedAt = 8
    full.timeFloor = 9
    full.sessionIssuer = "https://issuer.example"
    full.sessionAPIBase = "https://api.example"
    full.rollbackCounter = 12
    let bytes = full.encoded().revealCopy()
    var tags: [UInt8] = []
    var index = 0
    while index + 3 <= bytes.count {
      tags.append(bytes[index])
      index += 3 + (Int(bytes[index + 1]) | Int(bytes[index + 2]) << 8)
    }
    #expect(index == bytes.count)
    #expect(tags == [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
  }
}
