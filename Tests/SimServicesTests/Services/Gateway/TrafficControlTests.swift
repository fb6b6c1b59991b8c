import XCTest
import SimKernel
@testable import SimServices

/// The gateway's rate limiter (GCRA), retry budget and circuit breaker, as plain values.
final class RateLimiterTests: XCTestCase {
    let second: Int64 = 1_000_000_000

    func testABurstIsAdmittedAtOnceAndTheNextRequestIsRefused() {
        var limiter = RateLimiter(perSecond: 10, burst: 3)
        for _ in 0 ..< 3 { XCTAssertNoThrow(try limiter.admit("t/k", at: 0).get()) }
        guard case .failure(let wait) = limiter.admit("t/k", at: 0) else { return XCTFail("a fourth request at once is over the burst of 3") }
        XCTAssertEqual(wait.nanoseconds, second / 10, "the next slot opens one interval later")
    }

    func testARefusedCallerIsAdmittedAgainAfterTheRetryAfterWait() {
        var limiter = RateLimiter(perSecond: 10, burst: 1)
        XCTAssertNoThrow(try limiter.admit("c", at: 0).get())
        guard case .failure(let wait) = limiter.admit("c", at: 1) else { return XCTFail("second request at once refused") }
        XCTAssertNoThrow(try limiter.admit("c", at: 1 + wait.nanoseconds).get(), "admitted exactly when Retry-After says")
    }

    func testCallersAreLimitedIndependently() {
        var limiter = RateLimiter(perSecond: 1, burst: 1)
        XCTAssertNoThrow(try limiter.admit("tenant-a/key", at: 0).get())
        XCTAssertNoThrow(try limiter.admit("tenant-b/key", at: 0).get(), "another tenant has its own allowance")
        XCTAssertThrowsError(try limiter.admit("tenant-a/key", at: 0).get())
    }

    func testSteadyTrafficAtTheRateIsAlwaysAdmitted() {
        var limiter = RateLimiter(perSecond: 100, burst: 1)
        for index in 0 ..< 1000 { XCTAssertNoThrow(try limiter.admit("c", at: Int64(index) * limiter.interval).get(), "request \(index)") }
    }

    /// Whatever the arrival pattern, admissions in any window W number at most burst + floor(W / T).
    func testAdmissionsNeverExceedTheWindowBound() {
        var limiter = RateLimiter(perSecond: 50, burst: 5)
        var random = SimRandom(seed: 7)
        var admitted: [Int64] = []
        var now: Int64 = 0
        for _ in 0 ..< 5000 {
            now += Int64(random.next() % 40_000_000)  // 0-40 ms gaps: about twice the rate on average
            if case .success = limiter.admit("c", at: now) { admitted.append(now) }
        }
        XCTAssertGreaterThan(admitted.count, 1000)
        for end in admitted.indices {
            for start in Swift.max(0, end - 40) ... end {
                let bound = 5 + Int((admitted[end] - admitted[start]) / limiter.interval)
                XCTAssertLessThanOrEqual(end - start + 1, bound, "window \(admitted[start])...\(admitted[end])")
            }
        }
    }

    func testAnIdleCallerDoesNotSaveUpMoreThanItsBurst() {
        var limiter = RateLimiter(perSecond: 10, burst: 2)
        XCTAssertNoThrow(try limiter.admit("c", at: 0).get())
        let later = 100 * second
        XCTAssertNoThrow(try limiter.admit("c", at: later).get())
        XCTAssertNoThrow(try limiter.admit("c", at: later).get())
        XCTAssertThrowsError(try limiter.admit("c", at: later).get(), "a long pause earns the burst, not more")
    }
}

final class RetryBudgetTests: XCTestCase {
    func testRetriesAreBoundedByThePercentageOfRequests() {
        var budget = RetryBudget(percent: 20, minimumPerSecond: 0)
        var granted = 0
        for index in 0 ..< 100 {
            budget.deposit(at: Int64(index))
            if budget.withdraw(at: Int64(index)) { granted += 1 }
        }
        XCTAssertEqual(granted, 20, "20 % of 100 requests")
        XCTAssertEqual(budget.refused, 80)
    }

    func testTheMinimumAllowsRetriesOnAQuietService() {
        var budget = RetryBudget(percent: 0, minimumPerSecond: 10)
        XCTAssertTrue(budget.withdraw(at: 0), "a second's minimum is there from the start")
        var granted = 1
        while budget.withdraw(at: 0) { granted += 1 }
        XCTAssertEqual(granted, 10)
        XCTAssertTrue(budget.withdraw(at: 100_000_000), "a tenth of a second earns one more")
    }

    func testAStormOfFailuresCannotDrainMoreThanTheCap() {
        var budget = RetryBudget(percent: 20, minimumPerSecond: 10)
        for index in 0 ..< 10_000 { budget.deposit(at: Int64(index)) }
        var granted = 0
        while budget.withdraw(at: 10_000) { granted += 1 }
        XCTAssertEqual(granted, 12, "capped at a second's minimum plus ten requests' deposits")
    }
}

final class CircuitBreakerTests: XCTestCase {
    func testTheBreakerOpensAfterTheThresholdOfFailuresInARow() {
        var breaker = CircuitBreaker(threshold: 3, cooldown: 1000)
        for _ in 0 ..< 2 { breaker.record("a", success: false, at: 0) }
        XCTAssertTrue(breaker.allows("a", at: 0), "two failures are below the threshold")
        breaker.record("a", success: false, at: 0)
        XCTAssertFalse(breaker.allows("a", at: 10))
        XCTAssertEqual(breaker.opened, 1)
    }

    func testASuccessResetsTheFailureCount() {
        var breaker = CircuitBreaker(threshold: 2, cooldown: 1000)
        breaker.record("a", success: false, at: 0)
        breaker.record("a", success: true, at: 1)
        breaker.record("a", success: false, at: 2)
        XCTAssertTrue(breaker.allows("a", at: 3), "not two failures in a row")
    }

    func testAfterTheCooldownOneProbeGoesThroughAndItsSuccessCloses() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: 1000)
        breaker.record("a", success: false, at: 0)
        XCTAssertFalse(breaker.allows("a", at: 999))
        XCTAssertTrue(breaker.allows("a", at: 1000), "the probe")
        XCTAssertFalse(breaker.allows("a", at: 1001), "only one probe at a time")
        breaker.record("a", success: true, at: 1002)
        XCTAssertTrue(breaker.allows("a", at: 1003))
    }

    func testAFailedProbeOpensTheBreakerAgain() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: 1000)
        breaker.record("a", success: false, at: 0)
        XCTAssertTrue(breaker.allows("a", at: 1000))
        breaker.record("a", success: false, at: 1001)
        XCTAssertFalse(breaker.allows("a", at: 1500))
        XCTAssertTrue(breaker.allows("a", at: 2001))
        XCTAssertEqual(breaker.opened, 2)
    }

    func testInstancesHaveTheirOwnBreakers() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: 1000)
        breaker.record("a", success: false, at: 0)
        XCTAssertFalse(breaker.allows("a", at: 1))
        XCTAssertTrue(breaker.allows("b", at: 1))
    }

    /// The gateway's use of its breakers: looking at which instances may take a request takes no
    /// probe; only the instance the request goes to does. (Taking every open breaker's probe while
    /// looking left the others half-open for ever: an upstream unreachable after one bad spell.)
    func testOnlyTheInstanceARequestGoesToTakesItsBreakersProbe() {
        let state = GatewayService.State()
        var configuration = ServingConfiguration()
        configuration.breakerThreshold = 1
        configuration.breakerCooldownMillis = 2000
        state.configure(configuration)
        let instances = ["inference-1", "inference-2"].map { ServiceInstance(id: $0, service: "inference", address: Address(node: NodeID(1), service: "http"), check: nil) }
        for instance in instances { _ = state.record(instance.id, success: false, at: 0) }
        XCTAssertEqual(state.allowed(instances, at: Nanos.second).map(\.id), [], "both open, cooling down")
        let second = 2 * Nanos.second
        XCTAssertEqual(state.allowed(instances, at: second).map(\.id), ["inference-1", "inference-2"])
        XCTAssertEqual(state.allowed(instances, at: second).map(\.id), ["inference-1", "inference-2"], "looking again takes nothing")
        state.takeProbe("inference-1", at: second)
        XCTAssertEqual(state.allowed(instances, at: second).map(\.id), ["inference-2"], "inference-1's probe is in flight; inference-2 may still be probed")
        _ = state.record("inference-1", success: true, at: second + 1)
        XCTAssertEqual(state.allowed(instances, at: second + 1).map(\.id), ["inference-1", "inference-2"])
    }
}
