/// Virtual time of a simulation: integer nanoseconds since the start of the run.
///
/// Time is never a `Double` inside the kernel: a float cannot hold nanoseconds over long runs
/// exactly, and rounding would make two platforms disagree.
public struct SimInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the simulation started.
    public var nanoseconds: Int64

    /// The start of every run.
    public static let zero = SimInstant(nanoseconds: 0)

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    @inlinable public static func < (lhs: SimInstant, rhs: SimInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Seconds as a decimal string with millisecond precision, for people: `12.345s`.
    public var description: String { formatNanoseconds(nanoseconds) }

    /// Seconds as a `Double`, for reports only (never for decisions inside a run).
    public var seconds: Double { Double(nanoseconds) / 1e9 }
}

extension SimInstant: InstantProtocol {
    public typealias Duration = Swift.Duration

    public func advanced(by duration: Swift.Duration) -> SimInstant {
        SimInstant(nanoseconds: nanoseconds &+ duration.nanosecondsClamped)
    }

    public func duration(to other: SimInstant) -> Swift.Duration {
        .nanoseconds(other.nanoseconds &- nanoseconds)
    }
}

extension Swift.Duration {
    /// The duration in whole nanoseconds (truncated toward zero), clamped to `Int64`.
    @inlinable public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        if seconds > Int64.max / 1_000_000_000 { return Int64.max }
        if seconds < Int64.min / 1_000_000_000 { return Int64.min }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Integer nanosecond constants, so call sites read `5 * Nanos.millisecond` instead of a bare number.
public enum Nanos {
    public static let microsecond: Int64 = 1_000
    public static let millisecond: Int64 = 1_000_000
    public static let second: Int64 = 1_000_000_000
    public static let minute: Int64 = 60 * second
    public static let hour: Int64 = 60 * minute
}

/// Formats nanoseconds as seconds with three decimals (`1.250s`), exact integer arithmetic.
public func formatNanoseconds(_ ns: Int64) -> String {
    let sign = ns < 0 ? "-" : ""
    let magnitude = ns.magnitude
    let seconds = magnitude / 1_000_000_000
    let millis = (magnitude % 1_000_000_000) / 1_000_000
    let padded = millis < 10 ? "00\(millis)" : (millis < 100 ? "0\(millis)" : "\(millis)")
    return "\(sign)\(seconds).\(padded)s"
}
