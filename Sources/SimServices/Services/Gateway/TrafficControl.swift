/// The gateway's traffic control: a GCRA rate limiter per caller, a retry budget, and a circuit
/// breaker per upstream instance. Each is a plain value judged at the simulation's monotonic time
/// in integer nanoseconds (never a node's wall clock, which faults may skew), so its decisions
/// replay exactly.

/// The generic cell rate algorithm (GCRA, "virtual scheduling"): a caller may send one request
/// every `interval` on average and up to `burst` at once. A request at `now` is admitted when the
/// caller's theoretical arrival time is at most `(burst - 1) * interval` ahead of `now`; admitting
/// it moves that time one interval on. In any window of length W the limiter admits at most
/// `burst + floor(W / interval)` requests of one caller.
public struct RateLimiter: Sendable {
    public let interval: Int64
    public let burst: Int
    private var arrival: [String: Int64] = [:]

    /// `perSecond` requests a second on average, `burst` at once (both at least 1).
    public init(perSecond: Int, burst: Int) {
        precondition(perSecond >= 1 && burst >= 1, "a rate limit admits at least 1 request a second and a burst of 1, got \(perSecond)/s burst \(burst)")
        interval = 1_000_000_000 / Int64(perSecond)
        self.burst = burst
    }

    /// Admits a request of `caller` at `now`, or says how long until it would be admitted.
    public mutating func admit(_ caller: String, at now: Int64) -> Result<Void, RetryAfter> {
        if case .failure(let wait) = wouldAdmit(caller, at: now) { return .failure(wait) }
        arrival[caller] = Swift.max(arrival[caller] ?? now, now) + interval
        return .success(())
    }

    /// Whether a request of `caller` would be admitted at `now`, without counting it (the gateway
    /// counts a token only once auth refused it: `admit` then).
    public func wouldAdmit(_ caller: String, at now: Int64) -> Result<Void, RetryAfter> {
        let theoretical = Swift.max(arrival[caller] ?? now, now)
        let tolerance = Int64(burst - 1) * interval
        guard theoretical - now <= tolerance else { return .failure(RetryAfter(nanoseconds: theoretical - tolerance - now)) }
        return .success(())
    }

    public struct RetryAfter: Error, Equatable, Sendable {
        public var nanoseconds: Int64
    }
}

/// A retry budget (as Finagle's and Envoy's): retries may add at most `percent` % to the requests,
/// plus `minimumPerSecond` retries a second so that a quiet service can still retry. Each request
/// deposits `percent / 100` of a retry, a retry withdraws a whole one; the balance is capped at a
/// second's minimum plus ten requests' deposits, so a storm of failures cannot turn into a storm
/// of retries.
public struct RetryBudget: Sendable {
    public let percent: Int
    public let minimumPerSecond: Int
    /// The balance in hundredths of a retry, and when the time-based allowance last accrued.
    private(set) var hundredths: Int
    private var accruedAt: Int64 = 0
    public private(set) var retries = 0, refused = 0

    public init(percent: Int, minimumPerSecond: Int) {
        precondition(percent >= 0 && minimumPerSecond >= 0, "a retry budget is not negative, got \(percent) %, \(minimumPerSecond)/s")
        self.percent = percent
        self.minimumPerSecond = minimumPerSecond
        hundredths = minimumPerSecond * 100
    }

    private var cap: Int { Swift.max(100, minimumPerSecond * 100 + percent * 10) }

    /// A request was sent: its share of a retry goes into the budget.
    public mutating func deposit(at now: Int64) {
        accrue(at: now)
        hundredths = Swift.min(cap, hundredths + percent)
    }

    /// Whether one retry may be sent now (and, if so, it is paid for).
    public mutating func withdraw(at now: Int64) -> Bool {
        accrue(at: now)
        guard hundredths >= 100 else {
            refused += 1
            return false
        }
        hundredths -= 100
        retries += 1
        return true
    }

    private mutating func accrue(at now: Int64) {
        guard now > accruedAt else { return }
        let earned = Int((now - accruedAt) * Int64(minimumPerSecond) * 100 / 1_000_000_000)
        if earned > 0 {
            hundredths = Swift.min(cap, hundredths + earned)
            accruedAt = now
        }
    }
}

/// A circuit breaker per upstream instance: `threshold` failures in a row open it; while open, no
/// request is sent there; after `cooldown` it lets one probe through (half open), whose success
/// closes it and whose failure opens it again.
public struct CircuitBreaker: Sendable {
    public enum State: Equatable, Sendable {
        case closed(failures: Int)
        case open(until: Int64)
        case halfOpen
    }
    public let threshold: Int
    public let cooldown: Int64
    public private(set) var states: [String: State] = [:]
    public private(set) var opened = 0

    public init(threshold: Int, cooldown: Int64) {
        precondition(threshold >= 1 && cooldown >= 0, "a breaker opens after at least 1 failure, got \(threshold), cooldown \(cooldown) ns")
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// Whether a request may go to `upstream` at `now`; an open breaker past its cool-down lets
    /// this one through as its probe.
    public mutating func allows(_ upstream: String, at now: Int64) -> Bool {
        switch states[upstream] ?? .closed(failures: 0) {
        case .closed: return true
        case .halfOpen: return false  // its probe is in flight
        case .open(let until):
            guard now >= until else { return false }
            states[upstream] = .halfOpen
            return true
        }
    }

    /// Whether `allows` would let a request through at `now`, without taking a probe.
    public func wouldAllow(_ upstream: String, at now: Int64) -> Bool {
        switch states[upstream] ?? .closed(failures: 0) {
        case .closed: return true
        case .halfOpen: return false
        case .open(let until): return now >= until
        }
    }

    /// The outcome of a request sent to `upstream`.
    public mutating func record(_ upstream: String, success: Bool, at now: Int64) {
        if success {
            states[upstream] = .closed(failures: 0)
            return
        }
        switch states[upstream] ?? .closed(failures: 0) {
        case .closed(let failures) where failures + 1 < threshold:
            states[upstream] = .closed(failures: failures + 1)
        case .open:
            break
        default:
            states[upstream] = .open(until: now + cooldown)
            opened += 1
        }
    }
}
