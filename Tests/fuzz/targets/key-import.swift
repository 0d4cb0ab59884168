// Key import: an RFC 5915 DER private key (vault, factory) or a JWK's P-256
// coordinates. A loaded private key's ES256 signature verifies with its own
// public half, and its DER re-exports to a key with the same public point; an
// accepted public point round-trips through its JWK.
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let (mode, bytes) = selector(fuzzInput(data, size))
  if mode & 1 == 0 {
    checkPrivateDER(bytes)
  } else {
    checkJWK(bytes)
  }
  return 0
}

func checkPrivateDER(_ bytes: [UInt8]) {
  let key: P256PrivateKey
  do throws(CryptoError) {
    key = try P256PrivateKey.fromDER(SecretBytes(bytes))
  } catch {
    requireLogSafe(error.description, "key import error")
    return
  }
  do throws(CryptoError) {
    let message = Array("fuzz: a loaded key signs what its public half verifies".utf8) + bytes.prefix(16)
    let signature = try key.signES256(message)
    let publicKey = try key.publicKey()
    try publicKey.verifyES256(signature: signature, message: message)
    let reloaded = try P256PrivateKey.fromDER(key.derRepresentation())
    let again = try reloaded.publicKey()
    require(again.x == publicKey.x && again.y == publicKey.y, "re-exported key has the same public point")
  } catch {
    fatalError("property failed: a loaded key does not sign/verify/re-export: \(error.description)")
  }
}

func checkJWK(_ bytes: [UInt8]) {
  let object: JSONObject
  do throws(JSONError) {
    object = try JSONReader.parseObject(bytes)
  } catch {
    return
  }
  guard let x = object["x"]?.string.flatMap(Base64URL.decode),
    let y = object["y"]?.string.flatMap(Base64URL.decode)
  else { return }
  let key: P256PublicKey
  do throws(CryptoError) {
    key = try P256PublicKey(x: x, y: y)
  } catch {
    return
  }
  let jwk = PublicJWK(key)
  do throws(JSONError) {
    let written = try JSONReader.parseObject(Array(jwk.json.utf8))
    require(written["x"]?.string.flatMap(Base64URL.decode) == x, "JWK x round-trips")
    require(written["y"]?.string.flatMap(Base64URL.decode) == y, "JWK y round-trips")
  } catch {
    fatalError("property failed: a written JWK does not parse")
  }
  do throws(CryptoError) {
    _ = try jwk.thumbprint()
  } catch {
    fatalError("property failed: thumbprint of an accepted key failed")
  }
}
