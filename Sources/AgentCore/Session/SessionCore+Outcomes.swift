/// What each step's outcome does. Every (phase, step, outcome) combination
/// is decided here on purpose: the switches are exhaustive and none has a
/// `default`, so a new outcome or phase does not compile until it is placed.
extension Transition {
  mutating func completed(_ step: SessionStep, _ outcome: StepOutcome) {
    guard core.inFlight == step else { return note(.unexpected(step)) }
    core.inFlight = nil
    switch core.phase {
    case .pairing(var pairing):
      switch step {
      case .deviceAuthorization: codeRequested(&pairing, outcome)
      case .tokenPoll: polled(&pairing, outcome)
      case .refresh, .report: note(.unexpected(step))
      }
    case .active(var schedule):
      switch step {
      case .refresh: refreshed(&schedule, outcome)
      case .report: reported(&schedule, outcome)
      case .deviceAuthorization, .tokenPoll: note(.unexpected(step))
      }
    case .booting, .starting, .unprovisioned, .reauthWait, .identityRefused, .stopped:
      // No step is sent from these phases, and stop/start clear the one in
      // flight: an outcome here is stale.
      note(.unexpected(step))
    }
    service()
  }

  // MARK: - Device grant

  mutating func codeRequested(_ pairing: inout Pairing, _ outcome: StepOutcome) {
    switch outcome {
    case .issued(let grant):
      let code = approval(for: grant)
      pairing.code = code
      pairing.retry = nil
      core.refusals = 0
      note(.waitingForOwner(expiresInMs: code.expiresAt - now))
    case .slowDown:
      retrySlowedDown(&pairing.retry, .deviceAuthorization)
    case .unavailable(let failure):
      retry(&pairing.retry, .deviceAuthorization, failure)
    case .clientRefused:
      return refuse(schedule: nil, reactivation: pairing.reactivation)
    case .pending, .denied, .expired, .tokens, .accepted, .tokenRejected, .sessionEnded, .notAttempted:
      // Not an answer this endpoint gives: as unusable as a garbled one.
      retry(&pairing.retry, .deviceAuthorization, .network)
    }
    core.phase = .pairing(pairing)
  }

  mutating func polled(_ pairing: inout Pairing, _ outcome: StepOutcome) {
    guard var code = pairing.code else {
      note(.unexpected(.tokenPoll))
      return
    }
    switch outcome {
    case .pending:
      code.nextPollAt = now + code.interval
      pairing.retry = nil
    case .slowDown:
      // RFC 8628 §3.5: 5 s more, for this and every later poll.
      code.interval = min(code.interval + settings.slowDownIncrementMs, settings.maximumPollIntervalMs)
      code.nextPollAt = now + code.interval
      pairing.retry = nil
      note(.slowedDown(intervalMs: code.interval))
    case .denied:
      pairing.code = code
      lapse(&pairing, denied: true)
      core.phase = .pairing(pairing)
      return
    case .expired, .sessionEnded:
      // `expired_token`, or `invalid_grant` for a device code the server
      // no longer knows: the same, a new code is needed.
      pairing.code = code
      lapse(&pairing, denied: false)
      core.phase = .pairing(pairing)
      return
    case .tokens(let lifetime):
      return activate(lifetime)
    case .clientRefused:
      return refuse(schedule: nil, reactivation: pairing.reactivation)
    case .unavailable(let failure):
      retry(&pairing.retry, .tokenPoll, failure)
    case .issued, .accepted, .tokenRejected, .notAttempted:
      retry(&pairing.retry, .tokenPoll, .network)
    }
    pairing.code = code
    core.phase = .pairing(pairing)
  }

  /// The code as the device polls it: the server's interval and lifetime,
  /// bounded; an unattended device polls more slowly and more briefly.
  func approval(for grant: DeviceCodeGrant) -> PendingApproval {
    var interval = min(max(grant.intervalMs, settings.minimumPollIntervalMs), settings.maximumPollIntervalMs)
    var lifetime = min(max(grant.expiresInMs, 1_000), settings.maximumCodeLifetimeMs)
    if core.unattended > 0 {
      // Slower, but still at least two polls within the code's life: a code
      // the device never polls could never be approved.
      lifetime = min(lifetime, settings.unattendedListenMs)
      let stretched = Delays.doubled(interval, times: core.unattended, cap: settings.unattendedPollIntervalMs)
      interval = max(interval, min(stretched, lifetime / 3))
    }
    return PendingApproval(
      userCode: grant.userCode, verificationURI: grant.verificationURI, expiresAt: now + lifetime,
      interval: interval, nextPollAt: now + interval)
  }

  /// A code lapsed or was denied: nobody approved it. The next one waits,
  /// longer each time, unless a person triggers pairing.
  mutating func lapse(_ pairing: inout Pairing, denied: Bool) {
    core.unattended += 1
    let ceiling = Delays.doubled(
      settings.unattendedBaseMs, times: core.unattended - 1, cap: settings.unattendedCapMs)
    let delay = Delays.equalJitter(ceiling, &core.random)
    pairing.code = nil
    pairing.retry = nil
    pairing.nextCodeAt = now + delay
    note(.codeLapsed(denied: denied, nextCodeInMs: delay))
  }

  mutating func activate(_ lifetime: Int64?) {
    core.unattended = 0
    core.refusals = 0
    core.lastRefreshAt = now
    core.phase = .active(schedule(lifetime))
    // A report follows each activation, at a random point of a window so
    // that a fleet re-activating together does not report together.
    core.report = ReportSchedule(dueAt: now + core.random.upTo(settings.activationReportDelayMs))
    note(.activated)
  }

  // MARK: - Refresh and report

  mutating func refreshed(_ schedule: inout TokenSchedule, _ outcome: StepOutcome) {
    switch outcome {
    case .tokens(let lifetime):
      core.lastRefreshAt = now
      core.refusals = 0
      schedule = self.schedule(lifetime)
      if core.report.waitingForRefresh {
        core.report.waitingForRefresh = false
        core.report.dueAt = min(core.report.dueAt ?? now, now)
      }
    case .sessionEnded:
      return endSession()
    case .clientRefused:
      return refuse(schedule: schedule, reactivation: false)
    case .slowDown:
      retrySlowedDown(&schedule.retry, .refresh)
    case .unavailable(let failure):
      retry(&schedule.retry, .refresh, failure)
    case .issued, .pending, .denied, .expired, .accepted, .tokenRejected, .notAttempted:
      retry(&schedule.retry, .refresh, .network)
    }
    core.phase = .active(schedule)
  }

  mutating func reported(_ schedule: inout TokenSchedule, _ outcome: StepOutcome) {
    switch outcome {
    case .accepted:
      core.report.failures = 0
      core.report.refreshesUsed = 0
      core.report.dueAt = periodicReport()
      note(.reportAccepted(nextInMs: core.report.dueAt.map { $0 - now }))
    case .tokenRejected:
      if core.report.refreshesUsed >= settings.refreshesPerReport {
        // A fresh token refused again: not the token's fault. Back off.
        core.report.refreshesUsed = 0
        let delay = reportBackoff(.network)
        note(.reportRefused(refreshing: false, retryInMs: delay))
      } else {
        // One refresh for this report attempt (a mass logout shows here:
        // the refresh then gets `invalid_grant`).
        core.report.refreshesUsed += 1
        core.report.waitingForRefresh = true
        schedule.accessExpiresAt = now
        if schedule.retry == nil { schedule.refreshAt = min(schedule.refreshAt, refreshFloor()) }
        note(.reportRefused(refreshing: true, retryInMs: (schedule.retry?.at ?? schedule.refreshAt) - now))
      }
    case .unavailable(let failure):
      let delay = reportBackoff(failure)
      note(.retryIn(.report, delay))
    case .slowDown:
      let delay = reportBackoff(.tooManyRequests(retryAfterMs: 5_000 + settings.slowDownIncrementMs))
      note(.retryIn(.report, delay))
    case .notAttempted:
      core.report.dueAt = periodicReport()
    case .clientRefused, .sessionEnded, .issued, .pending, .denied, .expired, .tokens:
      let delay = reportBackoff(.network)
      note(.retryIn(.report, delay))
    }
    core.phase = .active(schedule)
  }

  /// When a token that lives `lifetime` (nil: not said) is refreshed: the
  /// later of half its life and expiry minus the margin, and never sooner
  /// than the floor after this (successful) refresh.
  mutating func schedule(_ lifetime: Int64?) -> TokenSchedule {
    let real = min(max(lifetime ?? settings.defaultLifetimeMs, 0), 366 * 86_400_000)
    var planned = real
    if real < settings.minimumLifetimeMs {
      planned = settings.minimumLifetimeMs
      if !core.lifetimeRaisedNoted {
        core.lifetimeRaisedNoted = true
        note(.lifetimeRaised(fromMs: real, toMs: planned))
      }
    }
    let refreshIn = max(planned / 2, planned - settings.refreshMarginMs, settings.refreshFloorMs)
    return TokenSchedule(accessExpiresAt: now + real, refreshAt: now + refreshIn)
  }

  mutating func periodicReport() -> Int64? {
    guard settings.reportIntervalMs > 0 else { return nil }
    return now + settings.reportIntervalMs + core.random.upTo(settings.reportJitterMs)
  }

  mutating func reportBackoff(_ failure: TransientFailure) -> Int64 {
    holdForRetryAfter(failure)
    let delay = Delays.retry(failure, attempt: core.report.failures, settings: settings, &core.random)
    core.report.failures += 1
    core.report.dueAt = now + delay
    return delay
  }

  // MARK: - Ending and refusing

  /// `invalid_grant`: tokens and key go first, then a random wait in the
  /// spread window before the new device grant.
  mutating func endSession() {
    let spread = settings.storm.reauthSpreadMilliseconds
    let delay = spread > 0 ? core.random.upTo(spread - 1) : 0
    core.phase = .reauthWait(until: now + delay)
    core.report = ReportSchedule()
    core.lastRefreshAt = nil
    effects.append(.destroySession)
    note(.sessionEnded(reauthInMs: delay))
  }

  mutating func refuse(schedule: TokenSchedule?, reactivation: Bool) {
    core.refusals += 1
    let ceiling = Delays.doubled(settings.refusalBaseMs, times: core.refusals - 1, cap: settings.refusalCapMs)
    let delay = Delays.equalJitter(ceiling, &core.random)
    var kept = schedule
    kept?.retry = nil
    core.phase = .identityRefused(Refusal(retryAt: now + delay, schedule: kept, reactivation: reactivation))
    note(.identityRefused(retryInMs: delay))
  }

  mutating func retry(_ retry: inout Retry?, _ step: SessionStep, _ failure: TransientFailure) {
    holdForRetryAfter(failure)
    let attempt = retry?.attempt ?? 0
    let delay = Delays.retry(failure, attempt: attempt, settings: settings, &core.random)
    retry = Retry(attempt: attempt + 1, at: now + delay)
    note(.retryIn(step, delay))
  }

  /// A `Retry-After` (429, 503) keeps every step away until it has passed.
  mutating func holdForRetryAfter(_ failure: TransientFailure) {
    var retryAfter: Int64? = nil
    switch failure {
    case .network: break
    case .server(let status, let value): if status == 503 { retryAfter = value }
    case .tooManyRequests(let value): retryAfter = value
    }
    guard let retryAfter else { return }
    let until = now + Delays.bounded(retryAfter, settings.storm)
    core.quietUntil = max(core.quietUntil ?? until, until)
  }

  /// `slow_down` at an endpoint without a polling interval: at least the
  /// default interval (5 s) plus 5 s, with the backoff's jitter on top.
  mutating func retrySlowedDown(_ retry: inout Retry?, _ step: SessionStep) {
    let attempt = retry?.attempt ?? 0
    let floor = 5_000 + settings.slowDownIncrementMs
    let delay = floor + core.random.upTo(settings.storm.backoffCeiling(attempt: attempt))
    retry = Retry(attempt: attempt + 1, at: now + delay)
    note(.retryIn(step, delay))
  }
}
