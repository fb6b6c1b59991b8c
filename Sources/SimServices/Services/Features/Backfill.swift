import SimKernel

/// Backfills: a view's history loaded into the offline store in bulk. A request stages its rows
/// durably (in parts of `rowsPerPart`) in one transaction and is answered at once; loaders then
/// move the parts into `feature_rows`, `loaders` at a time, each part in a transaction that marks
/// it loaded. The backfill is complete when its last part is: the part that finds no other part
/// left marks it so, in the same transaction. While a backfill of a view is loading, a
/// point-in-time join whose window [t - ttl, t] meets the backfill's range is refused (409): an
/// answer then would be computed over part of the history and look complete. A crash loses only
/// the loaders; the service's start-up resumes every backfill still loading (a part is loaded once:
/// rows are keyed by source id).
///
/// C5: each loader marks the backfill complete when *its own* parts are loaded, so the first
/// loader to finish declares it complete while the others are still loading, and joins are served
/// over a partial history.
enum Backfill {
    static let rowsPerPart = 25
    static let loaders = 4
    /// Parsing and writing a row costs 1-5 ms of the node's CPU, as load varies from part to part (a
    /// part of 25 rows: 25-125 ms), so loaders of equal shares finish at different times.
    static let costPerRow = Nanos.millisecond ... 5 * Nanos.millisecond

    static let migrations = [
        "CREATE TABLE feature_backfills(id INTEGER PRIMARY KEY, request TEXT NOT NULL UNIQUE, view TEXT NOT NULL, from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL, parts INTEGER NOT NULL, state TEXT NOT NULL)",
        "CREATE TABLE feature_backfill_parts(backfill INTEGER NOT NULL, part INTEGER NOT NULL, rows TEXT NOT NULL, schema INTEGER NOT NULL, loaded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(backfill, part))",
    ]

    /// The statements that stage a backfill (named `request` by its client, so a retried request
    /// stages nothing twice): its record, then its parts. The last statement answers its id and state.
    static func stage(request: String, view: String, rows: [OfflineStore.IncomingRow], schema: Int, defects: DefectSet) -> [SQLStatement] {
        let times = rows.map { $0.eventTime(defects: defects) }
        let parts = stride(from: 0, to: rows.count, by: rowsPerPart).map { Array(rows[$0 ..< Swift.min(rows.count, $0 + rowsPerPart)]) }
        var statements = [SQLStatement("INSERT OR IGNORE INTO feature_backfills(request, view, from_ts, to_ts, parts, state) VALUES (?, ?, ?, ?, ?, 'loading')",
                                       [.text(request), .text(view), .integer(times.min() ?? 0), .integer(times.max() ?? 0), .integer(Int64(parts.count))])]
        for (index, part) in parts.enumerated() {
            statements.append(SQLStatement("INSERT OR IGNORE INTO feature_backfill_parts(backfill, part, rows, schema) SELECT id, ?, ?, ? FROM feature_backfills WHERE request = ?",
                                           [.integer(Int64(index)), .text(part.map(\.text).joined(separator: "\n")), .integer(Int64(schema)), .text(request)]))
        }
        statements.append(SQLStatement("SELECT id, state FROM feature_backfills WHERE request = ?", [.text(request)]))
        return statements
    }

    /// The backfills of `view` still loading, with how many parts each has loaded. Columns: id,
    /// from_ts, to_ts, parts, loaded.
    static func loading(view: String) -> SQLStatement {
        SQLStatement("""
            SELECT b.id, b.from_ts, b.to_ts, b.parts, (SELECT COUNT(*) FROM feature_backfill_parts p WHERE p.backfill = b.id AND p.loaded = 1)
            FROM feature_backfills b WHERE b.view = ? AND b.state = 'loading' ORDER BY b.id
            """, [.text(view)])
    }

    /// Why a join of `view` as of each instant in `instants` must wait (nil: it may be answered),
    /// from the rows of `loading(view:)`.
    static func refusal(_ loading: SQLRows, view: FeatureView, instants: [Int64]) -> String? {
        for row in loading.rows {
            guard let id = row[0].integer, let from = row[1].integer, let to = row[2].integer, let parts = row[3].integer, let loaded = row[4].integer else { continue }
            if let t = instants.first(where: { from <= $0 && to >= $0 - view.ttl }) {
                return "view \(view.name): backfill #\(id) of \(formatNanoseconds(from))-\(formatNanoseconds(to)) is loading (\(loaded) of \(parts) parts); a join as of \(formatNanoseconds(t)) would see part of it"
            }
        }
        return nil
    }

    /// Loads backfill `id` to the end (unless a loader of this process already does), then returns.
    static func load(_ runtime: ServiceRuntime, id: Int64) async {
        let state = await runtime.state(FeaturesService.State.self)
        guard await state.beginBackfill(id) else { return }
        let context = runtime.context
        var pending: [(part: Int64, rows: String, schema: Int64)] = []
        var view = ""
        while true {
            if case .success(let results) = await runtime.transaction([
                SQLStatement("SELECT part, rows, schema FROM feature_backfill_parts WHERE backfill = ? AND loaded = 0 ORDER BY part", [.integer(id)]),
                SQLStatement("SELECT view FROM feature_backfills WHERE id = ?", [.integer(id)]),
            ]) {
                pending = results[0].rows.compactMap { row in
                    guard let part = row[0].integer, let rows = row[1].text, let schema = row[2].integer else { return nil }
                    return (part, rows, schema)
                }
                view = results[1].rows.first?[0].text ?? ""
                break
            }
            await context.sleep(nanoseconds: 500 * Nanos.millisecond)
        }
        // Parts go to the loaders round robin; all loaders run at once, and the last to finish
        // lets the backfill go.
        let shares = (0 ..< loaders).map { loader in stride(from: loader, to: pending.count, by: loaders).map { pending[$0] } }.filter { !$0.isEmpty }
        guard !shares.isEmpty else { return await state.endBackfill(id) }
        let running = Running(shares.count)
        for share in shares {
            context.simulation.spawn {
                await loadShare(runtime, backfill: id, view: view, share)
                running.count -= 1
                if running.count == 0 { await state.endBackfill(id) }
            }
        }
    }

    /// How many loaders of a backfill are still running.
    final class Running: @unchecked Sendable {  // confined to its simulation's thread
        var count: Int
        init(_ count: Int) { self.count = count }
    }

    /// One loader: its parts in order, each in a transaction (retried until it commits).
    static func loadShare(_ runtime: ServiceRuntime, backfill id: Int64, view: String, _ share: [(part: Int64, rows: String, schema: Int64)]) async {
        let context = runtime.context
        for (index, part) in share.enumerated() {
            let rows = part.rows.splitBytes("\n").compactMap { OfflineStore.IncomingRow.parse(String($0)) }
            let cost = context.withRandom { $0.uniform(costPerRow) }
            await context.sleep(nanoseconds: Int64(rows.count) * cost)
            var statements = rows.map { OfflineStore.insert($0, view: view, createdAt: context.localTime, schema: Int(part.schema), defects: runtime.defects) }
            statements.append(SQLStatement("UPDATE feature_backfill_parts SET loaded = 1 WHERE backfill = ? AND part = ?", [.integer(id), .integer(part.part)]))
            if runtime.defects.contains(.C5) {
                // C5: this loader's last part done, so "the backfill is done", whatever the
                // other loaders still have to load.
                if index == share.count - 1 {
                    statements.append(SQLStatement("UPDATE feature_backfills SET state = 'complete' WHERE id = ?", [.integer(id)]))
                }
            } else {
                statements.append(SQLStatement("UPDATE feature_backfills SET state = 'complete' WHERE id = ? AND NOT EXISTS (SELECT 1 FROM feature_backfill_parts WHERE backfill = ? AND loaded = 0)",
                                               [.integer(id), .integer(id)]))
            }
            while case .failure = await runtime.transaction(statements) {
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
        }
    }

    /// Resumes every backfill still loading (after a start or a restart of the service).
    static func resume(_ runtime: ServiceRuntime) async {
        var ids: [Int64] = []
        while true {
            if case .success(let results) = await runtime.transaction([SQLStatement("SELECT id FROM feature_backfills WHERE state = 'loading' ORDER BY id")]) {
                ids = results[0].rows.compactMap { $0[0].integer }
                break
            }
            await runtime.context.sleep(nanoseconds: Nanos.second)
        }
        for id in ids { runtime.context.simulation.spawn { await load(runtime, id: id) } }
    }
}
