import XCTest
@testable import SimKernel
@testable import SimServices

final class ConsulTests: XCTestCase {
    func testSessionIsInvalidatedWhenItsCheckGoesCriticalAndLockDelayBlocksReacquire() {
        var log: [String] = []
        _ = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            let me = ServiceInstance(id: "scheduler-1", service: "scheduler", address: context.address("scheduler"), check: .ttl(500 * Nanos.millisecond))
            _ = await consul.request(.register(me), context: context)
            guard case .success(.session(let session)) = await consul.request(.sessionCreate(checks: ["scheduler-1"], ttl: nil, lockDelay: 2 * Nanos.second), context: context) else { return }
            log.append("acquire \(await consul.request(.kvAcquire("leader", "scheduler-1", session: session), context: context))")
            await context.sleep(for: .seconds(1))  // no TTL pass: the check goes critical
            log.append("healthy \(((try? await consul.healthy("scheduler", context: context).get()) ?? []).map(\.id))")
            log.append("leader \(await consul.request(.kvGet("leader"), context: context))")
            _ = await consul.request(.pass(id: "scheduler-1"), context: context)
            guard case .success(.session(let second)) = await consul.request(.sessionCreate(checks: ["scheduler-1"], ttl: nil, lockDelay: 0), context: context) else { return }
            log.append("reacquire during lock-delay \(await consul.request(.kvAcquire("leader", "x", session: second), context: context))")
            for _ in 0 ..< 5 {  // keep the check passing while the lock-delay runs out
                await context.sleep(nanoseconds: 400 * Nanos.millisecond)
                _ = await consul.request(.pass(id: "scheduler-1"), context: context)
            }
            log.append("reacquire after \(await consul.request(.kvAcquire("leader", "x", session: second), context: context))")
        }
        XCTAssertEqual(log, [
            "acquire success(SimServices.ConsulReply.bool(true))",
            "healthy []",
            "leader success(SimServices.ConsulReply.value(Optional(\"scheduler-1\"), modifyIndex: 2, session: nil))",
            "reacquire during lock-delay success(SimServices.ConsulReply.bool(false))",
            "reacquire after success(SimServices.ConsulReply.bool(true))",
        ])
    }

    func testProbeCheckRemovesACrashedInstanceFromDiscovery() {
        let simulation = Simulation(seed: 2)
        let consulNode = simulation.addNode("consul"), api = simulation.addNode("api-1"), client = simulation.addNode("gateway")
        consulNode.addProcess("consul") { await ConsulServer.run(context: $0) }
        let consul = ConsulClient(server: Address(node: consulNode.id, service: "consul"))
        api.addProcess("api") { context in
            let control = context.mailbox("control")
            _ = await consul.request(.register(ServiceInstance(id: "api-1", service: "api", address: context.address("http"),
                                                                check: .probe(interval: 200 * Nanos.millisecond, timeout: 50 * Nanos.millisecond))), context: context)
            while true { let ping = await control.receive(); context.reply(to: ping, ProbePing()) }
        }
        var seen: [[String]] = []
        client.addProcess("watch") { context in
            for _ in 0 ..< 3 {
                await context.sleep(for: .seconds(1))
                seen.append(((try? await consul.healthy("api", context: context).get()) ?? []).map(\.id))
            }
        }
        simulation.schedule(at: 1500 * Nanos.millisecond) { api.crash() }
        simulation.schedule(at: 3200 * Nanos.millisecond) { simulation.finish() }
        simulation.run()
        XCTAssertEqual(seen, [["api-1"], [], []])
    }

    func testCatalogKVAndSessionsSurviveAConsulRestart() {
        var log: [String] = []
        _ = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            _ = await consul.request(.register(ServiceInstance(id: "models-1", service: "models", address: context.address("http"), check: nil)), context: context)
            _ = await consul.request(.kvPut("feature-flags", "on", cas: nil), context: context)
            node.crash()
            node.restart()
            log.append("\(((try? await consul.healthy("models", context: context).get()) ?? []).map(\.id))")
            log.append("\(await consul.request(.kvGet("feature-flags"), context: context))")
        }
        XCTAssertEqual(log, ["[\"models-1\"]", "success(SimServices.ConsulReply.value(Optional(\"on\"), modifyIndex: 1, session: nil))"])
    }

    func testKVCheckAndSet() {
        var results: [String] = []
        _ = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            for (value, cas) in [("a", UInt64(0)), ("b", UInt64(0)), ("c", UInt64(1)), ("d", UInt64(1))] {
                results.append("\(value): \(await consul.request(.kvPut("config", value, cas: cas), context: context))")
            }
        }
        XCTAssertEqual(results.map { $0.hasSuffix("bool(true))") }, [true, false, true, false])
    }

    func testHealthChangesAreRecordedWhenTheyHappen() {
        var wentCritical: Int64 = 0, passedAgain: Int64 = 0
        let simulation = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            _ = await consul.request(.register(ServiceInstance(id: "inference-1", service: "inference", address: context.address("http"), check: .ttl(300 * Nanos.millisecond))), context: context)
            await context.sleep(for: .seconds(1))  // no pass: the sweep marks it critical
            wentCritical = context.simulation.platformObservations.consulHealth["inference-1"]?.last?.at ?? -1
            _ = await consul.request(.pass(id: "inference-1"), context: context)
            passedAgain = context.simulation.now
        }
        // (It goes critical again later: nobody passes it once the client is done.)
        let history = Array((simulation.platformObservations.consulHealth["inference-1"] ?? []).prefix(2))
        XCTAssertEqual(history.map(\.critical), [true, false])
        // The TTL of 300 ms ran out; the sweep runs every 100 ms.
        XCTAssertGreaterThan(wentCritical, 300 * Nanos.millisecond)
        XCTAssertLessThanOrEqual(wentCritical, 500 * Nanos.millisecond)
        XCTAssertLessThanOrEqual(history.last!.at, passedAgain)
    }

    func testARestartedConsulRecordsTheHealthItRestoredNotWhatItLost() {
        var restartedAt: Int64 = -1
        let simulation = runInfra(serverName: "consul", server: { await ConsulServer.run(context: $0) }) { context, node in
            let consul = ConsulClient(server: Address(node: node.id, service: "consul"))
            for id in ["inference-1", "inference-2"] {
                _ = await consul.request(.register(ServiceInstance(id: id, service: "inference", address: context.address("http"), check: .ttl(300 * Nanos.millisecond))), context: context)
            }
            for _ in 0 ..< 6 {  // inference-1 keeps passing, inference-2 goes critical (persisted by the sweep)
                await context.sleep(nanoseconds: 100 * Nanos.millisecond)
                _ = await consul.request(.pass(id: "inference-1"), context: context)
            }
            // A change the server had not persisted when it crashed: the record says critical, the
            // restarted server holds it passing, and says so.
            context.simulation.platformObservations.consul("inference-1", critical: true, at: context.simulation.now)
            node.crash()
            node.restart()
            restartedAt = context.simulation.now
            _ = await consul.healthy("inference", context: context)
        }
        let health = simulation.platformObservations.consulHealth
        // (Later its TTL runs out too: nobody passes it once the client is done.)
        XCTAssertEqual(health["inference-1"]?.prefix(2).map(\.critical), [true, false])
        XCTAssertEqual(health["inference-1"]?[1].at, restartedAt, "recorded when the server restored its state")
        XCTAssertEqual(health["inference-2"]?.map(\.critical), [true], "restored critical: no change to record")
    }
}
