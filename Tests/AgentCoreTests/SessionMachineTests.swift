import AgentCore
import Testing

@Suite struct SessionMachineTests {
  typealias M = SessionMachine

  static let code = PendingApproval(
    userCode: "WDJB-MJHT", verificationURI: "https://cloud.test/device", expiresAt: 1_600, interval: 5,
    nextPollAt: 1_005)

  @Test func startUpFollowsTheVault() {
    #expect(M.next(.unprovisioned, .loadedNothing, now: 0) == (.unprovisioned, .wait))
    #expect(
      M.next(.unprovisioned, .loadedIdentityOnly, now: 0) == (.activationPending(nil), .requestDeviceCode))
    #expect(
      M.next(.unprovisioned, .loadedTokens(accessExpiresAt: 500), now: 0) == (
        .active(accessExpiresAt: 500), .wait
      ))
    // Expired (or nearly) at start-up: refresh first.
    #expect(M.next(.unprovisioned, .loadedTokens(accessExpiresAt: 500), now: 480) == (.refreshing, .refresh))
  }

  @Test func activationHonoursIntervalSlowDownAndApproval() {
    var (state, action) = M.next(.activationPending(nil), .deviceCodeIssued(Self.code), now: 1_000)
    #expect(state == .activationPending(Self.code))
    #expect(action == .publishApproval(Self.code))
    // Too early to poll.
    #expect(M.next(state, .tick, now: 1_004).1 == .wait)
    (state, action) = M.next(state, .tick, now: 1_005)
    #expect(action == .pollToken)
    (state, action) = M.next(state, .authorizationPending, now: 1_005)
    guard case .activationPending(let afterPending?) = state else { Issue.record("lost the code"); return }
    #expect(afterPending.nextPollAt == 1_010)
    (state, action) = M.next(state, .slowDown, now: 1_010)
    guard case .activationPending(let slowed?) = state else { Issue.record("lost the code"); return }
    #expect(slowed.interval == 10)
    #expect(slowed.nextPollAt == 1_020)
    #expect(M.next(state, .tick, now: 1_019).1 == .wait)
    #expect(M.next(state, .tick, now: 1_020).1 == .pollToken)
    #expect(
      M.next(state, .approved(accessExpiresAt: 2_000), now: 1_020) == (.active(accessExpiresAt: 2_000), .wait)
    )
  }

  @Test func deniedOrExpiredCodeStartsOverWithoutPolling() {
    let state = SessionState.reauthPending(Self.code)
    #expect(M.next(state, .accessDenied, now: 1_100) == (.reauthPending(nil), .requestDeviceCode))
    #expect(M.next(state, .expiredToken, now: 1_100) == (.reauthPending(nil), .requestDeviceCode))
    // Past expires_in without an answer: a new code, not another poll.
    #expect(M.next(state, .tick, now: 1_600) == (.reauthPending(nil), .requestDeviceCode))
  }

  @Test func refreshCycle() {
    let active = SessionState.active(accessExpiresAt: 2_000)
    #expect(M.next(active, .tick, now: 1_969) == (active, .wait))
    #expect(M.next(active, .tick, now: 1_970) == (.refreshing, .refresh))
    #expect(
      M.next(.refreshing, .refreshed(accessExpiresAt: 2_300), now: 1_971) == (
        .active(accessExpiresAt: 2_300), .wait
      ))
  }

  @Test func massLogoutDestroysTokensThenWaitsOutTheSpreadWindow() {
    for from in [SessionState.active(accessExpiresAt: 2_000), .refreshing] {
      let (state, action) = M.next(from, .revoked(startDelay: 240), now: 1_000)
      #expect(state == .reauthRequired(startAt: 1_240))
      #expect(action == .destroyTokens)
    }
    let waiting = SessionState.reauthRequired(startAt: 1_240)
    #expect(M.next(waiting, .tick, now: 1_239) == (waiting, .wait))
    #expect(M.next(waiting, .tick, now: 1_240) == (.reauthPending(nil), .newSessionKey))
    // Re-approval ends in active again.
    let (pending, _) = M.next(.reauthPending(nil), .deviceCodeIssued(Self.code), now: 1_241)
    #expect(
      M.next(pending, .approved(accessExpiresAt: 3_000), now: 1_300) == (
        .active(accessExpiresAt: 3_000), .wait
      ))
  }

  @Test func backoffRetriesTheSameStepAndCountsAttempts() {
    var (state, action) = M.next(.refreshing, .transientFailure(retryIn: 7), now: 100)
    #expect(state == .backoff(retryAt: 107, attempt: 1, resume: .refreshing))
    #expect(M.next(state, .tick, now: 106) == (state, .wait))
    (state, action) = M.next(state, .tick, now: 107)
    #expect(action == .refresh)
    #expect(state == .backoff(retryAt: Int64.max, attempt: 1, resume: .refreshing))
    // In flight: more ticks do not send a second request.
    #expect(M.next(state, .tick, now: 200).1 == .wait)
    (state, action) = M.next(state, .transientFailure(retryIn: 20), now: 108)
    #expect(state == .backoff(retryAt: 128, attempt: 2, resume: .refreshing))
    (state, action) = M.next(state, .tick, now: 128)
    #expect(
      M.next(state, .refreshed(accessExpiresAt: 900), now: 129) == (.active(accessExpiresAt: 900), .wait))
    // A revocation while backing off a refresh is still a revocation.
    let backingOff = SessionState.backoff(retryAt: 150, attempt: 3, resume: .refreshing)
    #expect(
      M.next(backingOff, .revoked(startDelay: 10), now: 140) == (
        .reauthRequired(startAt: 150), .destroyTokens
      ))
  }

  @Test func pollFailureBacksOffAndKeepsTheCode() {
    let pending = SessionState.activationPending(Self.code)
    var (state, action) = M.next(pending, .transientFailure(retryIn: 3), now: 1_005)
    #expect(state == .backoff(retryAt: 1_008, attempt: 1, resume: pending))
    (state, action) = M.next(state, .tick, now: 1_008)
    #expect(action == .pollToken)
    (state, action) = M.next(state, .authorizationPending, now: 1_008)
    guard case .activationPending(let code?) = state else { Issue.record("expected pending"); return }
    #expect(code.userCode == "WDJB-MJHT")
    #expect(action == .wait)
  }

  /// Every state × event pair gives a defined answer, and no event other
  /// than a start-up load leaves `unprovisioned` (nothing to talk about
  /// without an identity).
  @Test func everyPairIsDefined() {
    let states: [SessionState] = [
      .unprovisioned, .activationPending(nil), .activationPending(Self.code), .active(accessExpiresAt: 2_000),
      .refreshing, .reauthRequired(startAt: 1_100), .reauthPending(nil), .reauthPending(Self.code),
      .backoff(retryAt: 1_050, attempt: 2, resume: .refreshing),
    ]
    let events: [SessionEvent] = [
      .loadedIdentityOnly, .loadedTokens(accessExpiresAt: 2_000), .loadedNothing,
      .deviceCodeIssued(Self.code),
      .authorizationPending, .slowDown, .accessDenied, .expiredToken, .approved(accessExpiresAt: 2_000),
      .refreshed(accessExpiresAt: 2_000), .revoked(startDelay: 60), .transientFailure(retryIn: 5), .tick,
    ]
    var pairs = 0
    for state in states {
      for event in events {
        let (next, _) = M.next(state, event, now: 1_000)
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
