import AgentCore
import AgentTestSupport
import CAgentSys

// vault-bench: what one token rotation costs. Prints, per rotation, the bytes
// programmed and blocks erased on simulated NOR, the fsyncs on the file
// backend, and the time of the vault's seal+open against bare OpenSSL EVP
// AES-256-GCM calls on the same plaintext (the ratio is the vault's overhead:
// record encoding, framing, key derivation cache, parsing).
// Usage: vault-bench [ROTATIONS]   (default 200)

func fail(_ message: String) -> Never {
  Console.err("vault-bench: \(message)")
  exit(1)
}

var rotations = 200
if CommandLine.arguments.count > 1 {
  guard let value = Int(CommandLine.arguments[1]), value > 0 else {
    fail("usage: vault-bench [ROTATIONS]  (a positive number)")
  }
  rotations = value
}

let boardKey = SecretBytes(Array("vault-bench board key 0123456789".utf8))
let refreshToken = Array(repeating: UInt8(ascii: "r"), count: 64)
let accessToken = Array(repeating: UInt8(ascii: "a"), count: 700)

func rotationContents(_ round: Int) -> VaultContents {
  var contents = VaultContents(deviceID: "cam-bench-01")
  contents.identityKey = SecretBytes(Array(repeating: 0x11, count: 121))
  contents.dpopKey = SecretBytes(Array(repeating: 0x22, count: 121))
  contents.refreshToken = SecretBytes(refreshToken + Array(String(round).utf8))
  contents.accessToken = SecretBytes(accessToken)
  contents.accessTokenExpiry = 1_800_000_000 + Int64(round)
  contents.lastActivation = 1_790_000_000
  return contents
}

func nanoseconds(_ body: () -> Void) -> Int64 {
  let start = ca_monotonic_ns()
  body()
  return ca_monotonic_ns() - start
}

// 1. Simulated NOR: program and erase cost per rotation.
do {
  let flash = SimulatedNORFlash(size: 2 * 65_536, eraseBlockSize: 65_536)
  var vault = Vault(store: try FlashSlotStore(device: flash), hardwareKey: boardKey)
  var random = SystemRandom()
  try vault.commit(rotationContents(0), random: &random)
  let programmed = vault.store.device.bytesProgrammed
  let erased = vault.store.device.blocksErased
  let programOps = vault.store.device.programOps
  for round in 1...rotations { try vault.commit(rotationContents(round), random: &random) }
  let perBytes = Double(vault.store.device.bytesProgrammed - programmed) / Double(rotations)
  let perErase = Double(vault.store.device.blocksErased - erased) / Double(rotations)
  let perOps = Double(vault.store.device.programOps - programOps) / Double(rotations)
  Console.out(
    "nor (64 KiB erase blocks): \(rotations) rotations: \(Int(perBytes)) bytes programmed, "
      + "\(perErase) erases, \(perOps) program operations per rotation")
  Console.out("nor: erase count per block after the run: \(vault.store.device.eraseCounts)")
} catch {
  fail("NOR run: \(error)")
}

// 2. Seal+open time: the vault's commit+open over an in-memory store (TLV
// encoding, AES-256-GCM under the cached HKDF key, record header and AAD,
// parsing and opening both slots, as every open does) against one bare EVP
// seal and one open of the same plaintext.
do {
  var vault = Vault(store: MemorySlotStore(), hardwareKey: boardKey)
  var random = SystemRandom()
  let contents = rotationContents(1)
  let plaintext = contents.encodedForBenchmark()
  var failure: String? = nil
  let vaultTime = nanoseconds {
    for _ in 0..<rotations {
      do {
        try vault.commit(contents, random: &random)
        guard try vault.open() != nil else { failure = "vault opened empty"; return }
      } catch {
        failure = "\(error)"
        return
      }
    }
  }
  if let failure { fail("vault run: \(failure)") }
  let key = [UInt8](repeating: 0x42, count: 32)
  let nonce = [UInt8](repeating: 0x24, count: 12)
  let aad = [UInt8](repeating: 0x55, count: 32)
  var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
  var opened = [UInt8](repeating: 0, count: plaintext.count)
  var tag = [UInt8](repeating: 0, count: 16)
  var evpOK = true
  let evpTime = nanoseconds {
    for _ in 0..<rotations {
      evpOK =
        evpOK
        && ca_aes256gcm_seal(key, nonce, 12, aad, aad.count, plaintext, plaintext.count, &ciphertext, &tag)
          == 1
      evpOK =
        evpOK
        && ca_aes256gcm_open(key, nonce, 12, aad, aad.count, ciphertext, ciphertext.count, tag, &opened) == 1
    }
  }
  guard evpOK, opened == plaintext else { fail("raw EVP round trip failed") }
  let vaultMicros = Double(vaultTime) / Double(rotations) / 1000
  let evpMicros = Double(evpTime) / Double(rotations) / 1000
  Console.out("crypto: plaintext \(plaintext.count) bytes, \(rotations) rounds")
  Console.out(
    "crypto: vault commit+open \(vaultMicros) us per round; raw EVP seal+open \(evpMicros) us per round")
  Console.out("crypto: ratio vault / raw EVP = \(vaultMicros / evpMicros)")
}

// 3. File backend: system calls per rotation on the real file system (temp
// file, fsync, rename, directory fsync), counted through the same
// FileSystemOps layer the store always uses.
do {
  var template = [CChar](Array("/tmp/vault-bench-XXXXXX".utf8CString))
  guard let made = mkdtemp(&template) else { fail("mkdtemp failed") }
  let directory = String(cString: made) + "/vault"
  let store = FileSlotStore(directory: directory, fileSystem: FaultyFileSystem())
  var vault = Vault(store: store, hardwareKey: boardKey)
  var random = SystemRandom()
  do {
    _ = try vault.open()
    try vault.commit(rotationContents(0), random: &random)
  } catch {
    fail("file backend: \(error)")
  }
  let before = vault.store.fileSystem.counts
  let started = ca_monotonic_ns()
  for round in 1...rotations {
    do { try vault.commit(rotationContents(round), random: &random) } catch { fail("file backend: \(error)") }
  }
  let elapsed = ca_monotonic_ns() - started
  let after = vault.store.fileSystem.counts
  func perRotation(_ call: FaultyFileSystem.Call) -> Double {
    Double((after[call] ?? 0) - (before[call] ?? 0)) / Double(rotations)
  }
  Console.out(
    "file: \(rotations) rotations: per rotation \(perRotation(.fsync)) fsync of the record, "
      + "\(perRotation(.fsyncDirectory)) fsync of the directory, \(perRotation(.rename)) rename, "
      + "\(perRotation(.write)) write")
  Console.out(
    "file: \(Double(elapsed) / Double(rotations) / 1000) us per rotation on \(directory) (tmpfs or disk, as mounted)"
  )
  _ = try? vault.wipe()
  rmdir(directory)
  rmdir(String(cString: made))
}
