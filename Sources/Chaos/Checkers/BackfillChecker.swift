import SimKernel
import SimServices

/// Backfills are all or nothing to a reader: a point-in-time join that began after a backfill was
/// staged either waited (409) or saw every row of it. For each answered join, the newest row of
/// the backfill for that entity in [t - ttl, t] must be the row joined or older than it; a join
/// that answered NOT_FOUND or an older row was computed over part of the history (C5).
public final class BackfillChecker: FeatureSafetyChecker, Checker {
    public static let name = "backfill"
    public override var name: String { Self.name }
    public static func whyItCannotFire(in scenario: Scenario) -> String? { featureWorkloadMissing(scenario) }
    var checked = 0
    /// Per backfill id and entity, the backfill's rows of that entity (source, event time), by time.
    var rowsByEntity: [Int64: [String: [(source: String, eventTime: Int64)]]] = [:]
    public required init(scenario: Scenario) {}

    override func checkNew(_ observations: FeatureObservations, _ simulation: Simulation) -> String? {
        guard !observations.backfills.isEmpty else {
            checked = observations.joins.count  // no backfill yet: nothing a join could have missed
            return nil
        }
        while checked < observations.joins.count {
            let join = observations.joins[checked]
            checked += 1
            for backfill in observations.backfills where backfill.view == join.view && backfill.at < join.started {
                let rows = entityRows(backfill)[join.entity] ?? []
                guard let expected = rows.last(where: { $0.eventTime <= join.asOf && $0.eventTime >= join.asOf - join.ttl }) else { continue }
                if let served = join.storedEventTime, served >= expected.eventTime { continue }
                let answer = join.sourceID.map { "row \($0) from \(join.storedEventTime.map(formatNanoseconds) ?? "?")" } ?? "NOT_FOUND"
                return "features answered the join of \(join.view)/\(join.entity) as of \(formatNanoseconds(join.asOf)) at \(formatNanoseconds(join.at)) with \(answer), but backfill #\(backfill.id) (staged at \(formatNanoseconds(backfill.at))) holds row \(expected.source) from \(formatNanoseconds(expected.eventTime)): a partial backfill served as complete"
            }
        }
        return nil
    }

    func entityRows(_ backfill: FeatureObservations.AcceptedBackfill) -> [String: [(source: String, eventTime: Int64)]] {
        if let cached = rowsByEntity[backfill.id] { return cached }
        var byEntity: [String: [(source: String, eventTime: Int64)]] = [:]
        for row in backfill.rows { byEntity[row.entity, default: []].append((row.source, row.eventTime)) }
        for key in byEntity.keys { byEntity[key]!.sort { $0.eventTime < $1.eventTime } }
        rowsByEntity[backfill.id] = byEntity
        return byEntity
    }

    public func involved(in outcome: Outcome, _ simulation: Simulation) -> [String] { ["features"] }
}
