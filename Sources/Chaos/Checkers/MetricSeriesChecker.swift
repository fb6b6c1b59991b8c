import SimKernel
import SimServices

/// What experiments acknowledged it stored, it reads back: every point a worker's logging request
/// had acknowledged (key, step) is in the run's series (E1 loses some), and each series' timestamps
/// are ISO-8601 UTC (`...Z`) and never go back as the step grows.
public final class MetricSeriesChecker: TrainingRunsChecker, SafetyChecker, Checker {
    public static let name = "metric-series"
    public var name: String { Self.name }
    var checked = 0
    /// Whether `text` is `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func isUTC(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[23] == UInt8(ascii: "Z"), bytes[10] == UInt8(ascii: "T") else { return false }
        for (index, byte) in bytes.enumerated() where ![4, 7, 10, 13, 16, 19, 23].contains(index) {
            if !(48 ... 57).contains(byte) { return false }
        }
        return bytes[4] == 45 && bytes[7] == 45 && bytes[13] == 58 && bytes[16] == 58 && bytes[19] == 46
    }

    public func check(_ simulation: Simulation) -> String? {
        guard let observations else { return nil }
        while checked < observations.readBacks.count {
            let back = observations.readBacks[checked]
            checked += 1
            let stored = Set(back.points.map { "\($0.key)@\($0.step)" })
            let acknowledged = observations.acknowledged[back.name] ?? []
            let lost = acknowledged.filter { !stored.contains($0) }
            if !lost.isEmpty {
                return "\(back.name): experiments acknowledged \(acknowledged.count) points and reads back \(back.points.count); lost \(lost.count), e.g. \(lost.prefix(3).joined(separator: ", "))"
            }
            var newest: [String: (step: Int64, timestamp: String)] = [:]
            for point in back.points.sorted(by: { ($0.key, $0.step) < ($1.key, $1.step) }) {
                if !Self.isUTC(point.timestamp) { return "\(back.name): \(point.key) at step \(point.step) has timestamp '\(point.timestamp)', not ISO-8601 UTC" }
                // Fixed-width ISO-8601 UTC sorts as text in time order.
                if let previous = newest[point.key], previous.timestamp > point.timestamp {
                    return "\(back.name): \(point.key)'s timestamp goes back from \(previous.timestamp) (step \(previous.step)) to \(point.timestamp) (step \(point.step))"
                }
                newest[point.key] = (point.step, point.timestamp)
            }
        }
        return nil
    }

    override public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["experiments", "workers"] }
}
