import AgentCore
import Testing

@Suite struct CloudClockCorrectionTests {
  let server: Int64 = CloudFixtures.serverTime

  @Test func unsetClockLearnsTheServerTime() {
    var clock = ClockCorrection(clock: FixedWallClock(0))
    #expect(clock.localClockIsUnset)
    let changed1 = clock.observe(serverTime: server)
    #expect(changed1)
    #expect(clock.now() == server)
    #expect(clock.offsetSeconds == server)
    // Whole-second jitter of later `Date`s is left alone.
    let changed2 = clock.observe(serverTime: server + 1)
    #expect(!changed2)
    #expect(clock.now() == server)
  }

  @Test func syncedClockWithinThresholdIsKept() {
    var clock = ClockCorrection(clock: FixedWallClock(server + 5))
    let changed3 = clock.observe(serverTime: server)
    #expect(!changed3)
    #expect(clock.offsetSeconds == 0)
    #expect(!clock.hasLearned)
  }

  @Test func driftBeyondThresholdIsCorrected() {
    var clock = ClockCorrection(clock: FixedWallClock(server - 3_600))
    let changed4 = clock.observe(serverTime: server)
    #expect(changed4)
    #expect(clock.now() == server)
  }

  /// Once NTP sets the clock, the old offset would put it far ahead: undone.
  @Test func ntpJumpUndoesTheOffset() {
    var clock = ClockCorrection(clock: FixedWallClock(100))
    clock.observe(serverTime: server)
    clock.clock = FixedWallClock(server + 60)
    let changed5 = clock.observe(dateHeader: "Sun, 29 Nov 2026 10:01:00 GMT")
    #expect(changed5)
    #expect(clock.offsetSeconds == 0)
  }

  @Test func serverTimeBeforeTheFloorIsIgnored() {
    var clock = ClockCorrection(clock: FixedWallClock(0))
    let changed6 = clock.observe(serverTime: 1_000)
    #expect(!changed6)
    let changed7 = clock.observe(dateHeader: "Thu, 01 Jan 1970 00:16:40 GMT")
    #expect(!changed7)
    let changed8 = clock.observe(dateHeader: "yesterday")
    #expect(!changed8)
    let changed9 = clock.observe(dateHeader: nil)
    #expect(!changed9)
    #expect(clock.now() == 0)
  }
}
