import AgentCore

/// One swarm seed: one device, the real `SessionDriver` and `SessionCore`,
/// the real `CloudClient` (its JSON, JOSE and DPoP code included) and the
/// real `Vault` over an in-memory slot store, against `SwarmServer`'s random
/// answers on a simulated clock, with random power cuts between effects,
/// local triggers and reloads. The invariants are checked after every
/// input; the first one broken ends the seed with a one-line reproduction.
public struct SwarmRun {
  public typealias Driver = SessionDriver<SwarmCloud, SeededRandom, SimClock, MemorySlotStore, SwarmHost>

  /// A deliberately broken policy, to show each invariant fires.
  public enum Mutation: String, CaseIterable, Sendable {
    /// Refresh floor and minimum lifetime 0: a server's 1 s tokens mean a
    /// refresh a second (the hot loop).
    case refreshFloorZero = "floor0"
    /// `slow_down` adds nothing.
    case slowDownIgnored = "slowdown"
    /// Unlimited refreshes per report attempt: report → refresh → report …
    case reportRecursion = "recursion"
  }

  public struct Violation: Error, Equatable, CustomStringConvertible {
    public var seed: UInt64
    public var invariant: String
    public var detail: String
    public var mutation: Mutation?

    public var description: String {
      let broken = mutation.map { " --break \($0.rawValue)" } ?? ""
      return "seed \(seed): \(invariant): \(detail)  [reproduce: swift run swarm-sim --seed \(seed)\(broken)]"
    }
  }

  public struct Summary: Equatable {
    public var requests = 0
    public var commits = 0
    public var powerCuts = 0
    public var activations = 0
    public var simulatedMs: Int64 = 0

    public init() {}
  }

  /// Well after any build's time floor: a synced clock (the 1970 board is
  /// Tests/blackbox/clock.sh's).
  public static let start: Int64 = 1_830_297_600_000  // 2028-01-01T00:00:00Z
  /// Budgets: generous for any legitimate schedule (polling at the 1 s
  /// floor for a whole hour, with a nonce retry each; in one second, a
  /// refresh's first quick retries beside a report's, each with its nonce
  /// retry: seed 107605 saw 9), far below a loop.
  public static let requestsPerHour = 8_000
  public static let requestsPerSecond = 16
  public static let commitsPerHour = 150
  public static let chainLimit = 6

  let seed: UInt64
  let mutation: Mutation?

  public init(seed: UInt64, mutation: Mutation? = nil) {
    self.seed = seed
    self.mutation = mutation
  }

  public func run() -> Result<Summary, Violation> {
    var rng = CoreRandom(seed: seed)
    let clock = SimClock(milliseconds: Self.start + rng.upTo(86_400_000))
    let server = SwarmServer(seed: seed, clock: clock, powerCuts: true)
    let duration = 3_600_000 + rng.upTo(47 * 3_600_000)
    let end = clock.time + duration
    var settings = SessionSettings(storm: StormPolicy(reauthSpreadMilliseconds: rng.upTo(1_200_000)))
    settings.reportIntervalMs = [0, 60_000, 3_600_000, 21_600_000][Int(rng.upTo(3))]
    settings.reportJitterMs = settings.reportIntervalMs / 10
    switch mutation {
    case .refreshFloorZero?:
      settings.refreshFloorMs = 0
      settings.minimumLifetimeMs = 0
      settings.refreshMarginMs = 30_000
    case .slowDownIgnored?:
      settings.slowDownIncrementMs = 0
    case .reportRecursion?:
      settings.refreshesPerReport = Int.max
      settings.refreshFloorMs = 0
      settings.minimumLifetimeMs = 0
    case nil:
      break
    }
    let hardwareKey = SecretBytes(Array(repeating: 0x42, count: 32))
    var store = MemorySlotStore()
    // A provisioned board: identity key in the vault, maybe a session too.
    do {
      var vault = Vault(store: store, hardwareKey: hardwareKey)
      var contents = VaultContents(deviceID: "cam-swarm")
      var keyRandom = SeededRandom(seed: seed &+ 1)
      contents.identityKey = try P256PrivateKey.generate().derRepresentation()
      if rng.upTo(1) == 1 {
        contents.dpopKey = try P256PrivateKey.generate().derRepresentation()
        contents.refreshToken = SecretBytes(Array("rt-initial".utf8))
        contents.accessToken = SecretBytes(Array("at-initial".utf8))
        contents.accessTokenExpiry = clock.seconds() + Int64(rng.upTo(7_200)) - 600
        contents.lastActivation = clock.seconds() - 86_400
      }
      try vault.commit(contents, random: &keyRandom)
      store = vault.store
    } catch {
      return .failure(Violation(seed: seed, invariant: "setup", detail: "\(error)", mutation: mutation))
    }

    var checker = Checker(seed: seed, mutation: mutation, server: server)
    var summary = Summary()
    var boot = 0
    while clock.time < end {
      boot += 1
      var driver = Driver(
        vault: Vault(store: store, hardwareKey: hardwareKey), settings: settings,
        host: SwarmHost(server: server),
        clock: ClockCorrection(clock: clock), random: SeededRandom(seed: seed &* 31 &+ UInt64(boot)),
        makeClient: { deviceID, identity, session, corrected in
          CloudClient(
            transport: SwarmCloud(server: server), random: SeededRandom(seed: UInt64(boot)), clock: corrected,
            issuer: SwarmServer.issuer, deviceID: deviceID, identityKey: identity, sessionKey: session)
        })
      checker.restarted(at: clock.time)
      var wake = driver.start()
      while true {
        if let violation = checker.check(driver, wake: wake) { return .failure(violation) }
        if server.cutRequested || clock.time >= end { break }
        // The next thing that happens: the wake-up, or now and then a
        // person at the camera (SIGUSR1, or the pairing button) or an
        // operator's SIGHUP in between.
        // The core's times are on the driver's corrected clock.
        let offset = driver.now() - clock.time
        var at = wake.map { $0 - offset } ?? end
        let poke = rng.upTo(999)
        if poke < 3 {
          at = min(at, clock.time + rng.upTo(3_600_000))
          clock.time = max(clock.time, at)
          checker.triggered(at: clock.time)
          wake =
            poke == 0
            ? driver.reload(
              settings: settings,
              makeClient: { deviceID, identity, session, corrected in
                CloudClient(
                  transport: SwarmCloud(server: server), random: SeededRandom(seed: UInt64(boot)),
                  clock: corrected,
                  issuer: SwarmServer.issuer, deviceID: deviceID, identityKey: identity, sessionKey: session)
              }) : driver.feed(poke == 1 ? .trigger : .pair)
          continue
        }
        clock.time = max(clock.time, at)
        wake = driver.feed(.tick)
      }
      summary.commits += driver.host.commits.count
      summary.activations += driver.host.commits.filter { $0.contents.lastActivation != nil }.count
      // Power cut (or the end): whatever the medium holds must open to the
      // last committed record.
      store = driver.vault.store
      var reopened = Vault(store: store, hardwareKey: hardwareKey)
      let opened: VaultContents?
      do throws(VaultError) {
        opened = try reopened.open()
      } catch {
        return .failure(
          Violation(seed: seed, invariant: "vault opens", detail: error.description, mutation: mutation))
      }
      if let last = driver.host.commits.last?.contents {
        let same =
          opened?.refreshToken?.revealCopy() == last.refreshToken?.revealCopy()
          && opened?.accessToken?.revealCopy() == last.accessToken?.revealCopy()
          && opened?.dpopKey?.revealCopy() == last.dpopKey?.revealCopy()
        if !same {
          return .failure(
            Violation(
              seed: seed, invariant: "vault holds the last commit", detail: "after a power cut",
              mutation: mutation))
        }
      }
      if opened?.identityKey == nil {
        return .failure(
          Violation(
            seed: seed, invariant: "identity kept", detail: "the identity key is gone", mutation: mutation))
      }
      if server.cutRequested {
        server.cutRequested = false
        summary.powerCuts += 1
        clock.time += 1_000 + rng.upTo(60_000)
      }
    }
    summary.requests = server.records.count
    summary.simulatedMs = duration
    return .success(summary)
  }
}
