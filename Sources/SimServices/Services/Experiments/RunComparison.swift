import SimKernel

/// The hyperparameter comparison API (the brief's alternative task): `GET experiments/compare`
/// ranks an experiment's runs by a metric (each run's best value over its steps, `goal` max or
/// min; ties to the lower run id) and ranks the parameters that differ between runs by how much
/// they matter: the spread of the best values between the groups of runs that share a value of
/// the parameter (largest first; a parameter all runs share is left out).
///
/// Three statements in one transaction, whatever the number of runs. E6 reads each run's metrics
/// and parameters with a query of its own (1 + 2N statements); E2 picks the best run by comparing
/// single-precision copies of the values with the exact best, and so names the first run whenever
/// the best value has no exact `Float` form.
public enum RunComparison {
    public struct Query: Codable, Sendable, Equatable {
        public var experiment: String
        public var metric: String
        /// `max` (default) or `min`.
        public var goal: String?
    }
    public struct Comparison: Codable, Sendable, Equatable {
        public var experiment: String
        public var metric: String
        /// The best run (0 when no run has the metric).
        public var best: Int64
        /// `run=best_value=final_value`, best first, joined by `;`.
        public var ranking: String
        /// `param:spread`, the parameter that matters most first, joined by `;`.
        public var differing: String
    }

    /// One run's values of the metric and its parameters.
    struct RunFacts {
        var run: Int64
        var values: [(step: Int64, value: Double)] = []
        var params: [String: String] = [:]
    }

    static let route = Route("GET", "experiments/compare", Query.self, Comparison.self) { runtime, request, info throws(ServiceError) in
        let goal = request.goal ?? "max"
        guard goal == "max" || goal == "min" else { throw .badRequest("goal: '\(goal)' is neither max nor min") }
        let facts = try await read(runtime, experiment: request.experiment, metric: request.metric, tenant: info.tenant)
        return compare(facts, experiment: request.experiment, metric: request.metric, maximise: goal == "max", floatEquality: runtime.defects.contains(.E2))
    }

    /// The facts of `experiment`'s runs: of `tenant` only when one is given (the runs' list is
    /// scoped; points and parameters of runs not in it are ignored), of every tenant otherwise.
    static func read(_ runtime: ServiceRuntime, experiment: String, metric: String, tenant: String? = nil) async throws(ServiceError) -> [RunFacts] {
        let runsQuery = SQLStatement("SELECT id FROM runs WHERE experiment = ? AND tenant = COALESCE(?, tenant) ORDER BY id", [.text(experiment), tenant.map { .text($0) } ?? .null])
        let observations = runtime.context.simulation.experiments
        let blobs = runtime.defects.contains(.E1)  // E1 keeps the points in metric_log
        let pointsQuery = blobs
            ? SQLStatement("SELECT m.run, m.points FROM metric_log m JOIN runs r ON r.id = m.run WHERE r.experiment = ? ORDER BY m.run", [.text(experiment)])
            : SQLStatement("SELECT m.run, m.step, m.value FROM metrics m JOIN runs r ON r.id = m.run WHERE r.experiment = ? AND m.key = ? ORDER BY m.run, m.step",
                           [.text(experiment), .text(metric)])
        var facts: [RunFacts] = []
        var statements = 0
        func absorb(points rows: [[SQLValue]], params: [[SQLValue]]) {
            for row in rows {
                guard let run = row[0].integer, let index = facts.firstIndex(where: { $0.run == run }) else { continue }
                if blobs {
                    for point in MetricLog.parse(row[1].text ?? "") where point.key == metric { facts[index].values.append((point.step, point.value)) }
                } else if let step = row[1].integer, let value = row[2].real {
                    facts[index].values.append((step, value))
                }
            }
            for row in params {
                guard let run = row[0].integer, let index = facts.firstIndex(where: { $0.run == run }), let key = row[1].text, let value = row[2].text else { continue }
                facts[index].params[key] = value
            }
        }
        if runtime.defects.contains(.E6) {
            // E6: the runs, then each run's points and parameters by a query of their own.
            guard case .success(let runs) = await runtime.transaction([runsQuery]) else {
                throw .unavailable("cannot read experiment \(experiment)")
            }
            statements += 1
            facts = runs[0].rows.compactMap { $0.first?.integer }.map { RunFacts(run: $0) }
            for run in facts.map(\.run) {
                let points = blobs ? SQLStatement("SELECT run, points FROM metric_log WHERE run = ?", [.integer(run)])
                    : SQLStatement("SELECT run, step, value FROM metrics WHERE run = ? AND key = ? ORDER BY step", [.integer(run), .text(metric)])
                guard case .success(let rows) = await runtime.transaction([points]),
                      case .success(let params) = await runtime.transaction([SQLStatement("SELECT run, key, value FROM params WHERE run = ?", [.integer(run)])]) else {
                    throw .unavailable("cannot read run \(run)")
                }
                statements += 2
                absorb(points: rows[0].rows, params: params[0].rows)
            }
        } else {
            guard case .success(let rows) = await runtime.transaction([
                runsQuery,
                pointsQuery,
                SQLStatement("SELECT p.run, p.key, p.value FROM params p JOIN runs r ON r.id = p.run WHERE r.experiment = ? ORDER BY p.run, p.key", [.text(experiment)]),
            ]) else { throw .unavailable("cannot read experiment \(experiment)") }
            statements += 3
            facts = rows[0].rows.compactMap { $0.first?.integer }.map { RunFacts(run: $0) }
            absorb(points: rows[1].rows, params: rows[2].rows)
        }
        observations.comparisons.append((experiment: experiment, runs: facts.count, statements: statements))
        return facts
    }

    /// The comparison of `facts` (pure). `floatEquality` is E2's way of finding the best run.
    static func compare(_ facts: [RunFacts], experiment: String, metric: String, maximise: Bool, floatEquality: Bool) -> Comparison {
        let scored = facts.compactMap { fact -> (run: Int64, best: Double, final: Double)? in
            // By step: E1's blob keeps points in the order they arrived.
            guard let last = fact.values.sorted(by: { $0.step < $1.step }).last else { return nil }
            let values = fact.values.map(\.value)
            return (fact.run, (maximise ? values.max() : values.min()) ?? last.value, last.value)
        }
        let better: (Double, Double) -> Bool = { maximise ? $0 > $1 : $0 < $1 }
        let ranked = scored.sorted { better($0.best, $1.best) || ($0.best == $1.best && $0.run < $1.run) }
        var best = ranked.first?.run ?? 0
        if floatEquality, let top = ranked.first?.best {
            best = scored.first { Double(Float($0.best)) == top }?.run ?? scored.first?.run ?? 0
        }
        var spreads: [(param: String, spread: Double)] = []
        let keys = Set(facts.flatMap { $0.params.keys }).sorted()
        for key in keys {
            var groups: [String: [Double]] = [:]
            for entry in scored {
                let value = facts.first { $0.run == entry.run }?.params[key] ?? ""
                groups[value, default: []].append(entry.best)
            }
            guard groups.count > 1 else { continue }
            let means = groups.values.map { $0.reduce(0, +) / Double($0.count) }
            spreads.append((key, (means.max() ?? 0) - (means.min() ?? 0)))
        }
        spreads.sort { $0.spread > $1.spread || ($0.spread == $1.spread && $0.param < $1.param) }
        return Comparison(experiment: experiment, metric: metric, best: best,
                          ranking: ranked.map { "\($0.run)=\($0.best)=\($0.final)" }.joined(separator: ";"),
                          differing: spreads.map { "\($0.param):\($0.spread)" }.joined(separator: ";"))
    }
}

/// What experiments' comparison and search did, for checkers.
public final class ExperimentsObservations {
    /// Every comparison: the experiment, how many runs it compared, how many SQL statements it ran.
    public var comparisons: [(experiment: String, runs: Int, statements: Int)] {
        get { _comparisons }
        _modify { changes.note(); yield &_comparisons }
        set { changes.note(); _comparisons = newValue }
    }
    private var _comparisons: [(experiment: String, runs: Int, statements: Int)] = []
    /// Noted on every change of a stored property, for change-driven checkers.
    public let changes: ChangeCounter
    public init(changes: ChangeCounter = ChangeCounter()) { self.changes = changes }
}

extension Simulation {
    public var experiments: ExperimentsObservations { component(ExperimentsObservations.self) { ExperimentsObservations(changes: checkerChanges) } }
}
