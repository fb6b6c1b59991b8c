import SimKernel
import SimServices

/// The `user_profile` part of scenario 03's client: a backfill of the view's history, a training-
/// set builder that waits for it, a second schema version, producers of both versions, and readers
/// pinned to v1 beside readers of the newest version.
extension FeatureDriftClient {
    var profile: FeatureView { FeatureDriftWorkload.profile }

    func installProfile(on client: Node) {
        client.addProcess("profile-admin") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            _ = await ask(context, Self.register(profile))
            // One window in, the history arrives as a backfill: 400 rows over the 30 s before the run.
            await sleep(context, until: start! + window)
            let rows = (0 ..< FeatureDriftWorkload.backfillRows).map { index in
                context.withRandom { random in
                    profileRow(&random, source: "b\(index + 1)", version: 1, from: start! - FeatureDriftWorkload.backfillSpan, to: start! - 1)
                }
            }
            let staged = await ask(context, HTTPRequest("POST", "features/backfill", body: [
                "view": profile.name, "request": "history-1", "version": "1", "rows": rows.map(\.text).joined(separator: ",")]))
            if staged?.status == 200 { simulation.spawn { [self] in await buildTrainingSet(context) } }
            // A quarter into the run, v2 appends a feature; the client moves its writers and readers over.
            await sleep(context, until: start! + Int64(workload.windows / 4) * window)
            let evolved = FeatureView(name: profile.name, features: FeatureDriftWorkload.profileVersions[2]!, ttl: profile.ttl, sla: profile.sla)
            if let answer = await ask(context, Self.register(evolved)), answer.status == 200, let version = answer.body["version"].flatMap({ Int($0) }) {
                profileVersion = version
            }
        }
        client.addProcess("profile-producer") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            for k in 0 ..< workload.windows {
                let from = start! + Int64(k) * window
                await sleep(context, until: from + window / 2)
                // Four rows from the current writer, one from an old writer still on v1.
                for (version, count) in [(profileVersion, 4), (1, 1)] {
                    let rows = (0 ..< count).map { _ in
                        context.withRandom { random in
                            nextSource += 1
                            return profileRow(&random, source: "p\(nextSource)", version: version, from: from, to: from + window / 2)
                        }
                    }
                    let body = ["view": profile.name, "version": "\(version)", "rows": rows.map(\.text).joined(separator: ",")]
                    simulation.spawn { [self] in _ = await ask(context, HTTPRequest("POST", "features/ingest", body: body)) }
                }
            }
        }
        client.addProcess("profile-reader") { [self] context in
            while start == nil { await context.sleep(nanoseconds: 100 * Nanos.millisecond) }
            await sleep(context, until: start! + window)
            let end = start! + Int64(workload.windows) * window
            while context.localTime < end {
                await context.sleep(nanoseconds: window / 2)
                // An old client pinned to v1, and a client of the newest version, each joining
                // three users: some as of their history, some as of the last window.
                for version in [1, profileVersion] {
                    let now = context.localTime
                    let (entities, asOf) = context.withRandom { random in
                        let users = (0 ..< 3).map { _ in "u\(random.uniform(1 ..< FeatureDriftWorkload.profileUsers + 1))" }
                        let instants = users.map { _ in random.uniform(0 ..< 2) == 0 ? start! - random.uniform(0 ... FeatureDriftWorkload.backfillSpan) : now - random.uniform(0 ... window) }
                        return (users, instants)
                    }
                    simulation.spawn { [self] in
                        _ = await ask(context, Self.join(profile.name, entities, asOf, version: version), deadline: 2 * Nanos.second)
                    }
                }
            }
        }
    }

    /// The training-set builder: asks for the backfilled history of every profile user until the
    /// store answers (a 409 means the backfill is still loading; it asks again 20 ms later), and
    /// takes that answer as complete.
    func buildTrainingSet(_ context: ProcessContext) async {
        let entities = (1 ... FeatureDriftWorkload.profileUsers).map { "u\($0)" }
        let asOf = entities.map { _ in start! - 1 }
        while await ask(context, Self.join(profile.name, entities, asOf, version: 1))?.status == 409 {
            await context.sleep(nanoseconds: 20 * Nanos.millisecond)
        }
    }

    static func join(_ view: String, _ entities: [String], _ asOf: [Int64], version: Int) -> HTTPRequest {
        HTTPRequest("POST", "features/historical", body: ["view": view, "entities": entities.joined(separator: ","),
                                                          "as_of": asOf.map(String.init).joined(separator: ","), "version": "\(version)"])
    }

    /// A profile row of schema `version` with an event time in [from, to], recorded as produced.
    func profileRow(_ random: inout SimRandom, source: String, version: Int, from: Int64, to: Int64) -> OfflineStore.IncomingRow {
        let user = "u\(random.uniform(1 ..< FeatureDriftWorkload.profileUsers + 1))"
        let eventTime = random.uniform(from ... to)
        let all = ["plan": ["free", "pro", "team"][random.uniform(0 ..< 3)], "tenure_days": "\(random.uniform(0 ..< 2001))", "referrals": "\(random.uniform(0 ..< 10))"]
        let features = FeatureDriftWorkload.profileVersions[version]!
        let observations = simulation.features
        observations.producedRows[source] = (eventTime, user, profile.name)
        observations.producedNamed[source] = all.filter { features.contains($0.key) }
        return OfflineStore.IncomingRow(source: source, entity: user, localTime: eventTime, values: features.map { all[$0]! })
    }
}
