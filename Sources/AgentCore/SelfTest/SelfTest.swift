import CAgentSys

/// On-target checks of the cryptography and TLS the agent depends on. They run
/// on the board itself (or under QEMU), so a wrong ABI, a missing library
/// symbol or a broken OpenSSL/libcurl build shows up before the agent trusts it.
public struct SelfTest {
  public enum Verdict: Equatable {
    case passed(String)
    case failed(String)
    case skipped(String)
  }

  public struct Outcome: Equatable {
    public let name: String
    public let verdict: Verdict

    public var line: String {
      switch verdict {
      case .passed(let detail): return "ok    \(name): \(detail)"
      case .failed(let detail): return "FAIL  \(name): \(detail)"
      case .skipped(let detail): return "skip  \(name): \(detail)"
      }
    }
  }

  public let options: SelfTestOptions

  public init(options: SelfTestOptions) { self.options = options }

  /// Runs every check, reporting each as soon as it finishes.
  public func run(report: (Outcome) -> Void) -> [Outcome] {
    var outcomes: [Outcome] = []
    func record(_ name: String, _ check: () -> Verdict) {
      let outcome = Outcome(name: name, verdict: check())
      outcomes.append(outcome)
      report(outcome)
    }
    record("sha256") { Self.checkSHA256() }
    record("hkdf-sha256") { Self.checkHKDF() }
    record("aes-256-gcm") { Self.checkAESGCM() }
    record("ecdsa-p256") { Self.checkECDSA() }
    record("not-dumpable") { Self.checkNotDumpable() }
    if let url = options.tlsURL, let ca = options.caFile, let wrongCA = options.wrongCAFile {
      record("https-verified") { Self.checkHTTPS(url: url, caFile: ca) }
      record("https-wrong-ca") { Self.checkHTTPSRejected(url: url, caFile: wrongCA) }
    } else {
      let why = "no --tls-url given"
      record("https-verified") { .skipped(why) }
      record("https-wrong-ca") { .skipped(why) }
    }
    return outcomes
  }

  // FIPS 180-2, appendix B.1: SHA-256("abc").
  static func checkSHA256() -> Verdict {
    let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    do {
      let digest = try SHA256.hash(Array("abc".utf8))
      return Word(Hex.encode(digest)) == Word(expected)
        ? .passed("FIPS 180-2 \"abc\" vector") : .failed("got \(Hex.encode(digest))")
    } catch {
      return .failed(error.description)
    }
  }

  // RFC 5869, appendix A.1 (test case 1).
  static func checkHKDF() -> Verdict {
    let ikm = SecretBytes([UInt8](repeating: 0x0b, count: 22))
    let salt = Hex.decode("000102030405060708090a0b0c")!
    let info = Hex.decode("f0f1f2f3f4f5f6f7f8f9")!
    let expected =
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    do {
      let okm = try HKDF.deriveSHA256(inputKeyMaterial: ikm, salt: salt, info: info, outputLength: 42)
      return Word(Hex.encode(okm.revealCopy())) == Word(expected)
        ? .passed("RFC 5869 test case 1") : .failed("output differs from RFC 5869 A.1")
    } catch {
      return .failed(error.description)
    }
  }

  // McGrew & Viega GCM test case 14 (AES-256, zero key and IV, one zero block),
  // then a round trip with random key, nonce and AAD, then a flipped tag bit.
  static func checkAESGCM() -> Verdict {
    do {
      let zeroKey = SecretBytes([UInt8](repeating: 0, count: 32))
      let known = try AESGCM.seal(
        SecretBytes([UInt8](repeating: 0, count: 16)), key: zeroKey,
        nonce: [UInt8](repeating: 0, count: 12), aad: [])
      guard Word(Hex.encode(known.ciphertext)) == "cea7403d4d606b6e074ec5d3baf39d18",
        Word(Hex.encode(known.tag)) == "d0d1c8a799996bf0265b98b5d48ab919"
      else { return .failed("GCM test case 14 mismatch") }

      var random = SystemRandom()
      let key = SecretBytes(try random.bytes(32))
      let nonce = try random.bytes(12)
      let aad = Array("camera-agent selftest".utf8)
      let message = try random.bytes(100)
      let sealed = try AESGCM.seal(SecretBytes(message), key: key, nonce: nonce, aad: aad)
      let opened = try AESGCM.open(sealed, key: key, nonce: nonce, aad: aad)
      guard opened.revealCopy() == message else { return .failed("round trip changed the data") }

      var tampered = sealed
      tampered.tag[0] ^= 0x01
      do {
        _ = try AESGCM.open(tampered, key: key, nonce: nonce, aad: aad)
        return .failed("a modified tag was accepted")
      } catch CryptoError.authenticationFailed {
      } catch {
        return .failed("modified tag: \(error.description)")
      }
      var wrongAAD = aad
      wrongAAD[0] ^= 0x80
      do {
        _ = try AESGCM.open(sealed, key: key, nonce: nonce, aad: wrongAAD)
        return .failed("modified AAD was accepted")
      } catch CryptoError.authenticationFailed {
      } catch {
        return .failed("modified AAD: \(error.description)")
      }
      return .passed("test case 14, round trip, modified tag and AAD rejected")
    } catch {
      return .failed(error.description)
    }
  }

  static func checkECDSA() -> Verdict {
    do {
      let key = try P256PrivateKey.generate()
      let publicKey = try key.publicKey()
      let message = Array("eyJhbGciOiJFUzI1NiJ9.e30".utf8)
      let signature = try key.signES256(message)
      guard signature.count == 64 else { return .failed("signature is \(signature.count) bytes") }
      try publicKey.verifyES256(signature: signature, message: message)
      var altered = message
      altered[altered.count - 1] ^= 0x01
      do {
        try publicKey.verifyES256(signature: signature, message: altered)
        return .failed("signature verified over a modified message")
      } catch CryptoError.invalidSignature {
      }
      // The key survives a DER round trip (how the vault stores it).
      let reloaded = try P256PrivateKey.fromDER(try key.derRepresentation())
      try publicKey.verifyES256(signature: try reloaded.signES256(message), message: message)
      return .passed("sign, verify, modified message rejected, DER round trip")
    } catch {
      return .failed(error.description)
    }
  }

  // main() sets PR_SET_DUMPABLE 0 before any command runs; this confirms the
  // kernel (or QEMU's syscall layer) honoured it.
  static func checkNotDumpable() -> Verdict {
    let dumpable = ca_is_dumpable()
    return dumpable == 0
      ? .passed("PR_GET_DUMPABLE is 0: no core dumps, no same-uid ptrace")
      : .failed("PR_GET_DUMPABLE is \(dumpable)")
  }

  static func checkHTTPS(url: String, caFile: String) -> Verdict {
    var transport = CurlTransport(
      policy: HTTPPolicy(caFile: caFile, connectTimeoutMs: 5_000, totalTimeoutMs: 15_000))
    do {
      let response = try transport.send(HTTPRequest(method: .get, url: url))
      guard response.status == 200 else { return .failed("HTTP status \(response.status)") }
      return .passed("HTTP 200, \(response.body.count) bytes, certificate verified")
    } catch {
      return .failed(error.description)
    }
  }

  static func checkHTTPSRejected(url: String, caFile: String) -> Verdict {
    var transport = CurlTransport(
      policy: HTTPPolicy(caFile: caFile, connectTimeoutMs: 5_000, totalTimeoutMs: 15_000))
    do {
      let response = try transport.send(HTTPRequest(method: .get, url: url))
      return .failed(
        "request succeeded (HTTP \(response.status)) with a CA that did not issue the certificate")
    } catch .certificateRejected {
      return .passed("certificate rejected as expected")
    } catch {
      return .failed("failed, but not by certificate verification: \(error.description)")
    }
  }
}
