import SimKernel

/// Read-through on an online miss: the newest offline row within the view's TTL as of now becomes
/// the online value (compare-and-set, as materialization writes it) and is served. Single flight
/// per key: a miss while the key's load is in flight waits for that load and reads its result,
/// so N concurrent misses of a popular key cost one offline read (C7: each reads the store).
enum ReadThrough {
    static func load(_ runtime: ServiceRuntime, _ view: FeatureView, entity: String) async throws(ServiceError) -> OnlineStore.Entry? {
        let context = runtime.context, state = runtime.state(FeaturesService.State.self)
        let key = OnlineStore.key(view: view.key, entity: entity)
        if !runtime.defects.contains(.C7), !(await state.beginLoad(key)) {
            while await state.isLoading(key) { await context.sleep(nanoseconds: 2 * Nanos.millisecond) }
            guard case .success(let reply) = await runtime.redis.run(.get(key), context: context) else { throw .unavailable("the online store does not answer") }
            guard case .string(let text) = reply, let entry = OnlineStore.Entry.decode(text),
                  OnlineStore.servable(eventTime: entry.eventTime, ttl: view.ttl, now: context.localTime) else { return nil }
            return entry
        }
        // Counted per process start: a load that a crash cut off never ends, and is no one's.
        let observations = context.simulation.features, counted = "\(context.node.name)#\(context.epoch) \(key)"
        observations.readThroughsInFlight[counted, default: 0] += 1
        observations.readThroughStarts.append((context.simulation.now, key, observations.readThroughsInFlight[counted]!))
        observations.revision &+= 1
        defer {
            observations.readThroughsInFlight[counted, default: 1] -= 1
            observations.revision &+= 1
        }
        let result = await fetch(runtime, view, entity: entity, key: key)
        if !runtime.defects.contains(.C7) { await state.endLoad(key) }
        return try result.get()
    }

    static func fetch(_ runtime: ServiceRuntime, _ view: FeatureView, entity: String, key: String) async -> Result<OnlineStore.Entry?, ServiceError> {
        let context = runtime.context, now = context.localTime
        guard let order = view.transformOrder(defects: runtime.defects) else { return .success(nil) }
        guard case .success(let rows) = await runtime.transaction([OfflineStore.pointInTime(view: view.key, entity: entity, at: now, ttl: view.ttl)]) else {
            return .failure(.unavailable("cannot read the offline store"))
        }
        guard let row = rows[0].rows.first, let eventTime = row[1].integer, let vals = row[2].text else { return .success(nil) }
        let entry = Materialization.onlineEntry(view, vals: vals, eventTime: eventTime, order: order, defects: runtime.defects)
        switch await runtime.redis.run(OnlineStore.write(entry, view: view.key, entity: entity, defects: runtime.defects), context: context) {
        case .success(.ok):
            _ = await runtime.redis.run(OnlineStore.expire(view: view, entity: entity, context: context, defects: runtime.defects), context: context)
            return .success(entry)
        case .failure(.server(.staleFencingToken)):
            // A newer value went online meanwhile: serve that one.
            guard case .success(.string(let text)) = await runtime.redis.run(.get(key), context: context), let newer = OnlineStore.Entry.decode(text),
                  OnlineStore.servable(eventTime: newer.eventTime, ttl: view.ttl, now: context.localTime) else { return .success(nil) }
            return .success(newer)
        default: return .failure(.unavailable("the online store does not answer"))
        }
    }
}
