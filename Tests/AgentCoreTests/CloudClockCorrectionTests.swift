import AgentCore
import AgentTestSupport
import Testing

/// A wall clock and a monotonic clock that tests move independently: NTP
/// steps the wall clock, the monotonic one only runs forward.
struct SteppedClock: WallClock {
  var wall: Int64
  var monotonic: Int64 = 1_000_000

  func seconds() -> Int64 { wall / 1_000 }
  func milliseconds() -> Int64 { wall }
  func monotonicMilliseconds() -> Int64 { monotonic }

  mutating func advance(milliseconds: Int64) {
    wall += milliseconds
    monotonic += milliseconds
  }
}

@Suite struct CloudClockCorrectionTests {
  static let build: Int64 = 1_767_225_600  // 2026-01-01
  static let server: Int64 = CloudFixtures.serverTime  // 2026-11-29
  static let year: Int64 = 365 * 86_400
  /// A certificate dated like a real cloud's: issued yesterday, a year to run.
  static let cert = PeerValidity(notBefore: server - 86_400, notAfter: server + year)

  static func correction(
    wall: Int64, stored: Int64? = nil
  ) -> ClockCorrection<SteppedClock> {
    ClockCorrection(
      clock: SteppedClock(wall: wall * 1_000), floor: TimeFloor(buildTime: build, stored: stored))
  }

  /// A camera at 1970 takes the verified server's time, logs it once, and
  /// its certificate checks move from the floor (expiry only) to that time.
  @Test func unsyncedClockLearnsTheServerTime() {
    var clock = Self.correction(wall: 0)
    #expect(!clock.systemClockIsSynced)
    #expect(clock.now() == Self.build)
    #expect(clock.certificateCheckTime == CertificateCheckTime(seconds: Self.build, isExact: false))
    let notices1 = clock.takeNotices()
    #expect(notices1 == [.unsynced(system: 0, floor: Self.build)])
    let moved2 = clock.observe(serverTime: Self.server, validity: Self.cert)
    #expect(moved2)
    #expect(clock.now() == Self.server)
    let notices3 = clock.takeNotices()
    #expect(notices3 == [.corrected(from: Self.build, to: Self.server, system: 0)])
    #expect(clock.floor.seconds == Self.server)
    // Whole-second jitter of later `Date`s is left alone, and not logged.
    let moved4 = clock.observe(serverTime: Self.server + 1, validity: Self.cert)
    #expect(!moved4)
    let notices5 = clock.takeNotices()
    #expect(notices5.isEmpty)
    // The learned time runs on.
    clock.clock.advance(milliseconds: 5_000)
    #expect(clock.now() == Self.server + 5)
    #expect(clock.certificateCheckTime == CertificateCheckTime(seconds: Self.server + 5, isExact: false))
  }

  /// A synced clock is never overridden: year 9999 and 1980 change nothing,
  /// the floor only follows the earlier of server and clock, and the
  /// disagreement is logged once.
  @Test func syncedClockIsNeverOverridden() {
    for date in [Int64(253_402_300_799), 315_532_800, Self.server + 3_600, Self.server - 3_600] {
      var clock = Self.correction(wall: Self.server)
      _ = clock.takeNotices()
      let far = PeerValidity(notBefore: 0, notAfter: 253_402_300_799)
      let moved6 = clock.observe(serverTime: date, validity: far)
      #expect(!moved6)
      let moved7 = clock.observe(serverTime: date, validity: far)
      #expect(!moved7)
      #expect(clock.nowMilliseconds() == Self.server * 1_000)
      #expect(clock.floor.seconds == min(date, Self.server) || clock.floor.seconds == Self.build)
      #expect(clock.floor.seconds <= Self.server)
      let notices8 = clock.takeNotices()
      #expect(notices8 == [.keptSyncedClock(system: Self.server, server: date)])
    }
  }

  /// An unsynced clock takes no time nobody vouches for, none past the
  /// certificate's notAfter or before its notBefore, none before the floor,
  /// none implausibly far past it; one refusal line, not one per request.
  @Test func correctionIsBounded() {
    let cases: [(Int64, PeerValidity?, ClockRefusal)] = [
      (Self.server, nil, .unverifiedServer),
      (Self.server + 2 * Self.year, Self.cert, .afterCertificate(notAfter: Self.cert.notAfter)),
      (Self.server - 2 * 86_400, Self.cert, .beforeCertificate(notBefore: Self.cert.notBefore)),
      (Self.build - 86_400, PeerValidity(notBefore: 0, notAfter: .max), .beforeFloor(floor: Self.build)),
      (
        253_402_300_799, PeerValidity(notBefore: 0, notAfter: 253_402_300_799),
        .implausible(limit: Self.build + ClockCorrection<SteppedClock>.defaultMaximumAdvanceSeconds)
      ),
    ]
    for (date, validity, reason) in cases {
      var clock = Self.correction(wall: 0)
      _ = clock.takeNotices()
      let moved9 = clock.observe(serverTime: date, validity: validity)
      #expect(!moved9)
      let moved10 = clock.observe(serverTime: date, validity: validity)
      #expect(!moved10)
      #expect(clock.now() == Self.build)
      #expect(clock.floor.seconds == Self.build)
      let notices11 = clock.takeNotices()
      #expect(notices11 == [.refused(server: date, reason: reason)])
    }
  }

  /// Over random clocks, server times and certificates: now is never before
  /// the floor, a synced clock is used exactly, and an unsynced one never
  /// goes past the certificate's notAfter or the plausible limit.
  @Test func propertiesOverRandomInputs() {
    var random = SeededRandom(seed: 11)
    func pick(_ range: ClosedRange<Int64>) -> Int64 {
      range.lowerBound + Int64(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    let span: ClosedRange<Int64> = 0...300_000_000_000
    for _ in 0..<3_000 {
      let stored: Int64? =
        random.next() % 3 == 0 ? nil : pick(Self.build - Self.year...Self.build + 30 * Self.year)
      var clock = Self.correction(wall: pick(span), stored: stored)
      // Before a server time is learned, an unsynced clock runs on from the
      // floor by the monotonic time since the correction was made.
      let start = clock.clock.monotonicMilliseconds()
      let limit = clock.floor.seconds + clock.maximumAdvanceSeconds
      for _ in 0..<6 {
        let floorBefore = clock.floor.seconds
        let syncedBefore = clock.systemClockIsSynced
        let notBefore = pick(span)
        let validity: PeerValidity? =
          random.next() % 4 == 0
          ? nil : PeerValidity(notBefore: notBefore, notAfter: notBefore + pick(0...50 * Self.year))
        let date = random.next() % 3 == 0 ? clock.clock.seconds() + pick(-400...400) : pick(span)
        clock.observe(serverTime: date, validity: validity)
        let lowered = clock.takeNotices().contains {
          if case .floorFromTheFuture = $0 { true } else { false }
        }
        #expect(clock.now() >= clock.floor.seconds)
        #expect(lowered || clock.floor.seconds >= floorBefore)
        if syncedBefore {
          #expect(clock.nowMilliseconds() == clock.clock.milliseconds())
          #expect(clock.floor.seconds <= max(floorBefore, clock.clock.seconds()))
        } else if clock.nowMilliseconds() > floorBefore * 1_000
          + (clock.clock.monotonicMilliseconds() - start) + 1_000,
          !lowered
        {
          #expect(validity != nil)
          #expect(clock.now() <= validity!.notAfter)
          #expect(clock.now() >= validity!.notBefore)
          #expect(clock.now() <= limit)
        }
        clock.clock.advance(milliseconds: pick(0...100_000))
      }
    }
  }

  /// NTP after a correction: the learned time is dropped (logged), and a
  /// step of the wall clock that stays short of the floor cannot drag the
  /// learned time with it (it runs on the monotonic clock).
  @Test func ntpStepDropsTheLearnedTime() {
    var clock = Self.correction(wall: 100)
    clock.observe(serverTime: Self.server, validity: Self.cert)
    _ = clock.takeNotices()
    // The wall clock steps to just short of the floor (= the learned time).
    clock.clock.wall = (Self.server - 2) * 1_000
    #expect(clock.now() == Self.server)
    clock.clock.advance(milliseconds: 1_000)
    #expect(clock.now() == Self.server + 1)
    #expect(!clock.systemClockIsSynced)
    // Once the wall clock reaches the floor it is synced and used as it is.
    clock.clock.advance(milliseconds: 59_000)
    #expect(clock.systemClockIsSynced)
    #expect(clock.now() == Self.server + 58)
    clock.observe(serverTime: Self.server + 61, validity: Self.cert)
    let notices12 = clock.takeNotices()
    #expect(notices12 == [.systemClockSet(system: Self.server + 58)])
    #expect(!clock.hasLearned)
    #expect(clock.nowMilliseconds() == clock.clock.milliseconds())
  }

  /// A vault from the future: a floor ahead of the board's clock and of a
  /// verified server, which agree, is lowered to them with one clear line;
  /// a server alone (the board's clock disagreeing) cannot lower it.
  @Test func floorFromTheFutureIsLowered() {
    let future = Self.server + 20 * Self.year
    let longCert = PeerValidity(notBefore: Self.server - 86_400, notAfter: future + Self.year)
    var alone = Self.correction(wall: 0, stored: future)
    #expect(alone.now() == future)
    let moved13 = alone.observe(serverTime: Self.server, validity: longCert)
    #expect(!moved13)
    #expect(alone.floor.seconds == future)
    #expect(alone.now() == future)

    var clock = Self.correction(wall: Self.server + 30, stored: future)
    #expect(clock.now() == future)
    let notices14 = clock.takeNotices()
    #expect(notices14 == [.unsynced(system: Self.server + 30, floor: future)])
    let moved15 = clock.observe(serverTime: Self.server, validity: longCert)
    #expect(moved15)
    let notices16 = clock.takeNotices()
    #expect(notices16 == [.floorFromTheFuture(floor: future, server: Self.server, system: Self.server + 30)])
    #expect(clock.floor.seconds == Self.server)
    #expect(clock.systemClockIsSynced)
    #expect(clock.nowMilliseconds() == (Self.server + 30) * 1_000)
    let message = ClockNotice.floorFromTheFuture(floor: future, server: Self.server, system: Self.server + 30)
      .message
    #expect(message.contains("ahead of the system clock"))
  }

  @Test func unparsableDatesAreIgnored() {
    var clock = Self.correction(wall: 0)
    let moved17 = clock.observe(dateHeader: "yesterday", validity: Self.cert)
    #expect(!moved17)
    let moved18 = clock.observe(dateHeader: nil, validity: Self.cert)
    #expect(!moved18)
    #expect(clock.now() == Self.build)
    let moved19 = clock.observe(dateHeader: CloudFixtures.serverDate, validity: Self.cert)
    #expect(moved19)
    #expect(clock.now() == Self.server)
  }

  @Test func timeTextPrintsEveryInstant() {
    #expect(TimeText.utc(0) == "1970-01-01T00:00:00Z")
    #expect(TimeText.utc(Self.server) == "2026-11-29T10:00:00Z")
    #expect(TimeText.utc(253_402_300_799) == "9999-12-31T23:59:59Z")
    #expect(TimeText.utc(-1) == "1969-12-31T23:59:59Z")
    #expect(TimeText.utc(.max) == "\(Int64.max) s since 1970")
  }
}
