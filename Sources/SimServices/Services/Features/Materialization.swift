import SimKernel

/// Materialization: the newest offline row of every entity (within the view's TTL) becomes its
/// online value, with the view's transformations computed, written compare-and-set by version.
/// The view's freshness marker (`freshness:<view>`: the newest event time materialized, fenced by
/// it so it never goes back) tells how old the freshest online value is.
enum Materialization {
    static func freshnessKey(_ view: String) -> String { "freshness:\(view)" }
    static func watermarkKey(_ view: String) -> String { "materialized:\(view)" }
    static let computeCostPerEntity = Nanos.millisecond ... 5 * Nanos.millisecond

    /// The online entry of an offline row (`vals` `;`-joined), its transformations computed in `order`.
    static func onlineEntry(_ view: FeatureView, vals: String, eventTime: Int64, order: [FeatureView.Transform], defects: DefectSet) -> OnlineStore.Entry {
        var raw = vals.splitBytes(";", omittingEmptySubsequences: false).map(String.init)
        // C1: the online path packs numbers into a float32 vector, so "5.23" comes back as
        // 5.230000019073486 while the offline store keeps 5.23.
        if defects.contains(.C1) { raw = raw.map { value in Double(value).map { "\(Double(Float($0)))" } ?? value } }
        var numeric: [String: Double] = [:]
        for (name, value) in zip(view.features, raw) { numeric[name] = Double(value) }
        let computed = FeatureView.computeTransforms(numeric, order: order)
        let values = Array(zip(view.features, raw)) + view.transforms.map { ($0.name, computed[$0.name].map { "\($0)" } ?? "") }
        return OnlineStore.Entry(version: eventTime, eventTime: eventTime, values: values)
    }

    static func run(_ runtime: ServiceRuntime, _ view: FeatureView) async throws(ServiceError) -> FeatureRoutes.Materialized {
        let context = runtime.context
        guard let order = view.transformOrder(defects: runtime.defects) else {
            // Only a cycle C8's validator let in gets here: no transformation is ever ready, and
            // the run waits for ever (the pipeline's hang).
            while true {
                runtime.observations.update("features") { $0.waitingFor = ["materialize \(view.name): a transformation whose inputs are never ready"] }
                await context.sleep(nanoseconds: 100 * Nanos.millisecond)
            }
        }
        let startedAt = context.localTime
        // Incremental: only entities that changed since the last completed run (its watermark:
        // the largest row id it saw and the instant it read as of).
        var watermark: (id: Int64, at: Int64) = (0, .max)
        switch await runtime.redis.run(.get(watermarkKey(view.key)), context: context) {
        case .success(.string(let text)):
            let parts = text.splitBytes("|").compactMap { Int64($0) }
            if parts.count == 2 { watermark = (parts[0], parts[1]) }
        case .success(.null): break
        default: throw .unavailable("the online store does not answer")
        }
        guard case .success(let highest) = await runtime.transaction([OfflineStore.newestID(view: view.key)]), let upTo = highest[0].rows.first?[0].integer else {
            throw .unavailable("cannot read the offline store")
        }
        guard case .success(let rows) = await runtime.transaction([OfflineStore.latestPerEntity(view: view.key, at: startedAt, ttl: view.ttl, after: watermark.id, upTo: upTo, since: watermark.at)]) else {
            throw .unavailable("cannot read the offline store")
        }
        var writes: [RedisCommand] = []
        var newest: Int64?
        for row in rows[0].rows {
            guard let entity = row[0].text, let eventTime = row[2].integer, let vals = row[3].text else { continue }
            let entry = onlineEntry(view, vals: vals, eventTime: eventTime, order: order, defects: runtime.defects)
            newest = Swift.max(newest ?? eventTime, eventTime)
            writes.append(OnlineStore.write(entry, view: view.key, entity: entity, defects: runtime.defects))
            writes.append(OnlineStore.expire(view: view, entity: entity, context: context, defects: runtime.defects))
        }
        // Computing the rows' values takes time (1-5 ms of virtual CPU per entity, as load on the
        // node varies): a run reads its snapshot, then writes a while later, and two runs overlap
        // and may finish in either order.
        if !writes.isEmpty {
            let cost = context.withRandom { $0.uniform(computeCostPerEntity) }
            await context.sleep(nanoseconds: Int64(writes.count / 2) * cost)
        }
        // The writes (a value and its expiry per entity) travel in pipelines of up to 200 commands (one round trip each); every
        // write still succeeds or is refused on its own.
        var written = 0, superseded = 0
        var start = 0
        while start < writes.count {
            let chunk = Array(writes[start ..< Swift.min(writes.count, start + 200)])
            start += chunk.count
            guard case .success(.replies(let replies)) = await runtime.redis.run(.pipeline(chunk), context: context) else {
                throw .unavailable("the online store does not answer")
            }
            for reply in replies {
                switch reply {
                case .ok: written += 1
                case .error(.staleFencingToken): superseded += 1  // a newer value is already online
                case .integer: break  // an expiry set
                default: throw .unavailable("the online store refused a write: \(reply)")
                }
            }
        }
        // The watermark moves only after every write landed (a crash before it redoes the work).
        // Both markers only move forward: a refusal means a newer run already moved them, and
        // this run's work is done all the same.
        switch await runtime.redis.run(.setFenced(watermarkKey(view.key), "\(upTo)|\(startedAt)", token: UInt64(Swift.max(0, upTo))), context: context) {
        case .success, .failure(.server(.staleFencingToken)): break
        case .failure: throw .unavailable("cannot record the materialization")
        }
        if let newest {
            switch await runtime.redis.run(.setFenced(freshnessKey(view.key), "\(newest)", token: UInt64(Swift.max(0, newest))), context: context) {
            case .success, .failure(.server(.staleFencingToken)): break
            case .failure: throw .unavailable("cannot record the materialization")
            }
        }
        return FeatureRoutes.Materialized(entities: written, superseded: superseded)
    }

    /// How old the view's newest materialized value is on this node's clock (nil: none yet).
    static func age(_ runtime: ServiceRuntime, _ view: FeatureView) async throws(ServiceError) -> Int64? {
        switch await runtime.redis.run(.get(freshnessKey(view.key)), context: runtime.context) {
        case .success(.string(let text)): return Int64(text).map { runtime.context.localTime - $0 }
        case .success(.null): return nil
        default: throw .unavailable("the online store does not answer")
        }
    }
}
