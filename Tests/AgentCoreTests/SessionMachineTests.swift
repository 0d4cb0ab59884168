import AgentCore
import Testing

@Suite struct SessionMachineTests {
  typealias M = SessionMachine

  static let code = PendingApproval(
    userCode: "WDJB-MJHT", verificationURI: "https://cloud.test/device", expiresAt: 1_600_000,
    interval: 5_000,
    nextPollAt: 1_005_000)

  @Test func startUpFollowsTheVault() {
    #expect(M.next(.unprovisioned, .loadedNothing, now: 0) == (.unprovisioned, .wait))
    #expect(
      M.next(.unprovisioned, .loadedIdentityOnly, now: 0) == (.activationPending(nil), .requestDeviceCode))
    #expect(
      M.next(.unprovisioned, .loadedTokens(accessExpiresAt: 500_000), now: 0) == (
        .active(accessExpiresAt: 500_000), .wait
      ))
    // Expired (or nearly) at start-up: refresh first.
    #expect(
      M.next(.unprovisioned, .loadedTokens(accessExpiresAt: 500_000), now: 480_000) == (.refreshing, .refresh)
    )
  }

  @Test func activationHonoursIntervalSlowDownAndApproval() {
    var (state, action) = M.next(.activationPending(nil), .deviceCodeIssued(Self.code), now: 1_000_000)
    #expect(state == .activationPending(Self.code))
    #expect(action == .publishApproval(Self.code))
    // Too early to poll.
    #expect(M.next(state, .tick, now: 1_004_000).1 == .wait)
    (state, action) = M.next(state, .tick, now: 1_005_000)
    #expect(action == .pollToken)
    (state, action) = M.next(state, .authorizationPending, now: 1_005_000)
    guard case .activationPending(let afterPending?) = state else { Issue.record("lost the code"); return }
    #expect(afterPending.nextPollAt == 1_010_000)
    (state, action) = M.next(state, .slowDown, now: 1_010_000)
    guard case .activationPending(let slowed?) = state else { Issue.record("lost the code"); return }
    #expect(slowed.interval == 10_000)
    #expect(slowed.nextPollAt == 1_020_000)
    #expect(M.next(state, .tick, now: 1_019_000).1 == .wait)
    #expect(M.next(state, .tick, now: 1_020_000).1 == .pollToken)
    #expect(
      M.next(state, .approved(accessExpiresAt: 2_000_000), now: 1_020_000) == (
        .active(accessExpiresAt: 2_000_000), .wait
      )
    )
  }

  @Test func deniedOrExpiredCodeStartsOverWithoutPolling() {
    let state = SessionState.reauthPending(Self.code)
    #expect(M.next(state, .accessDenied, now: 1_100_000) == (.reauthPending(nil), .requestDeviceCode))
    #expect(M.next(state, .expiredToken, now: 1_100_000) == (.reauthPending(nil), .requestDeviceCode))
    // Past expires_in without an answer: a new code, not another poll.
    #expect(M.next(state, .tick, now: 1_600_000) == (.reauthPending(nil), .requestDeviceCode))
  }

  @Test func refreshCycle() {
    let active = SessionState.active(accessExpiresAt: 2_000_000)
    #expect(M.next(active, .tick, now: 1_969_000) == (active, .wait))
    #expect(M.next(active, .tick, now: 1_970_000) == (.refreshing, .refresh))
    #expect(
      M.next(.refreshing, .refreshed(accessExpiresAt: 2_300_000), now: 1_971_000) == (
        .active(accessExpiresAt: 2_300_000), .wait
      ))
  }

  @Test func massLogoutDestroysTokensThenWaitsOutTheSpreadWindow() {
    for from in [SessionState.active(accessExpiresAt: 2_000_000), .refreshing] {
      let (state, action) = M.next(from, .revoked(startDelay: 240_000), now: 1_000_000)
      #expect(state == .reauthRequired(startAt: 1_240_000))
      #expect(action == .destroyTokens)
    }
    let waiting = SessionState.reauthRequired(startAt: 1_240_000)
    #expect(M.next(waiting, .tick, now: 1_239_000) == (waiting, .wait))
    #expect(M.next(waiting, .tick, now: 1_240_000) == (.reauthPending(nil), .newSessionKey))
    // Re-approval ends in active again.
    let (pending, _) = M.next(.reauthPending(nil), .deviceCodeIssued(Self.code), now: 1_241_000)
    #expect(
      M.next(pending, .approved(accessExpiresAt: 3_000_000), now: 1_300_000) == (
        .active(accessExpiresAt: 3_000_000), .wait
      ))
  }

  @Test func backoffRetriesTheSameStepAndCountsAttempts() {
    var (state, action) = M.next(.refreshing, .transientFailure(retryIn: 7_000), now: 100_000)
    #expect(state == .backoff(retryAt: 107_000, attempt: 1, resume: .refreshing))
    #expect(M.next(state, .tick, now: 106_000) == (state, .wait))
    (state, action) = M.next(state, .tick, now: 107_000)
    #expect(action == .refresh)
    #expect(state == .backoff(retryAt: Int64.max, attempt: 1, resume: .refreshing))
    // In flight: more ticks do not send a second request.
    #expect(M.next(state, .tick, now: 200_000).1 == .wait)
    (state, action) = M.next(state, .transientFailure(retryIn: 20_000), now: 108_000)
    #expect(state == .backoff(retryAt: 128_000, attempt: 2, resume: .refreshing))
    (state, action) = M.next(state, .tick, now: 128_000)
    #expect(
      M.next(state, .refreshed(accessExpiresAt: 900_000), now: 129_000) == (
        .active(accessExpiresAt: 900_000), .wait
      ))
    // A revocation while backing off a refresh is still a revocation.
    let backingOff = SessionState.backoff(retryAt: 150_000, attempt: 3, resume: .refreshing)
    #expect(
      M.next(backingOff, .revoked(startDelay: 10_000), now: 140_000) == (
        .reauthRequired(startAt: 150_000), .destroyTokens
      ))
  }

  @Test func pollFailureBacksOffAndKeepsTheCode() {
    let pending = SessionState.activationPending(Self.code)
    var (state, action) = M.next(pending, .transientFailure(retryIn: 3_000), now: 1_005_000)
    #expect(state == .backoff(retryAt: 1_008_000, attempt: 1, resume: pending))
    (state, action) = M.next(state, .tick, now: 1_008_000)
    #expect(action == .pollToken)
    (state, action) = M.next(state, .authorizationPending, now: 1_008_000)
    guard case .activationPending(let code?) = state else { Issue.record("expected pending"); return }
    #expect(code.userCode == "WDJB-MJHT")
    #expect(action == .wait)
  }

  /// Every state × event pair gives a defined answer, and no event other
  /// than a start-up load leaves `unprovisioned` (nothing to talk about
  /// without an identity).
  @Test func everyPairIsDefined() {
    let states: [SessionState] = [
      .unprovisioned, .activationPending(nil), .activationPending(Self.code),
      .active(accessExpiresAt: 2_000_000),
      .refreshing, .reauthRequired(startAt: 1_100_000), .reauthPending(nil), .reauthPending(Self.code),
      .backoff(retryAt: 1_050_000, attempt: 2, resume: .refreshing),
    ]
    let events: [SessionEvent] = [
      .loadedIdentityOnly, .loadedTokens(accessExpiresAt: 2_000_000), .loadedNothing,
      .deviceCodeIssued(Self.code),
      .authorizationPending, .slowDown, .accessDenied, .expiredToken, .approved(accessExpiresAt: 2_000_000),
      .refreshed(accessExpiresAt: 2_000_000), .revoked(startDelay: 60_000), .transientFailure(retryIn: 5_000),
      .tick,
    ]
    var pairs = 0
    for state in states {
      for event in events {
        let (next, _) = M.next(state, event, now: 1_000_000)
        if state == .unprovisioned {
          switch event {
          case .loadedIdentityOnly, .loadedTokens, .loadedNothing: break
          default: #expect(next == .unprovisioned, "\(event)")
          }
        }
        #expect(!next.name.isEmpty)
        pairs += 1
      }
    }
    #expect(pairs == states.count * events.count)
  }
}
