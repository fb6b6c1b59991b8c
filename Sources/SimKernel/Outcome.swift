/// How a run ended. A run is a pure function of its inputs, so the outcome is too.
public enum Outcome: Hashable, Sendable, CustomStringConvertible {
    /// Every check held until the run's horizon (or the simulation went quiet).
    case passed
    /// A safety checker found an invariant broken.
    case violation(checker: String, message: String, at: Int64)
    /// The lock manager found a wait-for cycle.
    case deadlock(DeadlockCycle)
    /// A liveness condition did not hold by its deadline.
    case livenessTimeout(check: String, message: String, at: Int64)
    /// The run hit its event budget: a runaway loop, or a budget set too low.
    case outOfEvents(limit: UInt64, at: Int64)
    /// The simulator itself broke: work from another thread, real time used inside the run.
    case simulatorFault(message: String)

    /// A short stable name: `passed`, `violation`, `deadlock`, `liveness_timeout`,
    /// `out_of_events`, `simulator_fault`.
    public var kind: String {
        switch self {
        case .passed: return "passed"
        case .violation: return "violation"
        case .deadlock: return "deadlock"
        case .livenessTimeout: return "liveness_timeout"
        case .outOfEvents: return "out_of_events"
        case .simulatorFault: return "simulator_fault"
        }
    }

    /// The checker (or mechanism) that decided the outcome, if any.
    public var checker: String? {
        switch self {
        case .passed: return nil
        case .violation(let checker, _, _): return checker
        case .deadlock: return "deadlock"
        case .livenessTimeout(let check, _, _): return check
        case .outOfEvents: return "event-budget"
        case .simulatorFault: return "simulator"
        }
    }

    /// Virtual time of the failure, when it has one.
    public var time: Int64? {
        switch self {
        case .passed, .simulatorFault: return nil
        case .violation(_, _, let at), .livenessTimeout(_, _, let at), .outOfEvents(_, let at): return at
        case .deadlock(let cycle): return cycle.detectedAt
        }
    }

    public var isFailure: Bool { self != .passed }

    /// Exit code for command-line tools: 0 passed, 1 a failure found, 3 the simulator broke.
    public var exitCode: Int32 {
        switch self {
        case .passed: return 0
        case .simulatorFault: return 3
        default: return 1
        }
    }

    public var message: String {
        switch self {
        case .passed: return "all checks held"
        case .violation(_, let message, _), .livenessTimeout(_, let message, _): return message
        case .deadlock(let cycle): return cycle.description
        case .outOfEvents(let limit, _): return "event budget of \(limit) events exhausted"
        case .simulatorFault(let message): return message
        }
    }

    public var description: String {
        switch self {
        case .passed: return "passed"
        default:
            let at = time.map { " at \(formatNanoseconds($0))" } ?? ""
            return "\(kind) [\(checker ?? "-")]\(at): \(message)"
        }
    }
}

/// A wait-for cycle: each member holds something the previous one waits for.
public struct DeadlockCycle: Hashable, Sendable, CustomStringConvertible {
    public struct Member: Hashable, Sendable {
        /// The waiting owner.
        public var owner: String
        /// The resources it holds, sorted.
        public var holds: [String]
        /// The resource it waits for.
        public var waitsFor: String
        /// The mode it asked for.
        public var mode: String
        /// When its wait began.
        public var since: Int64
    }

    /// Members in cycle order: member i waits for a resource held by member i+1 (mod count).
    public var members: [Member]
    public var detectedAt: Int64

    public var description: String {
        let parts = members.map { m in
            "\(m.owner) holds [\(m.holds.joined(separator: ", "))] and waits for \(m.waitsFor) (\(m.mode)) since \(formatNanoseconds(m.since))"
        }
        return "wait-for cycle of \(members.count): " + parts.joined(separator: "; ")
            + "; back to \(members.first?.owner ?? "?")"
    }
}
