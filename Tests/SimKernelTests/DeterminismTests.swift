import XCTest
import Foundation
@testable import SimKernel

/// A workload that touches every kernel component with faults on: nodes that crash and restart,
/// a lossy network with RPCs, torn disks, contended locks with leases, buggify points.
enum DeterminismWorkload {
    static func build(_ simulation: Simulation) {
        let network = simulation.network
        network.options.dropProbability = Ratio(1, 20)
        network.options.duplicateProbability = Ratio(1, 50)
        network.options.reorderProbability = Ratio(1, 10)
        var disk = DiskOptions()
        disk.tornWriteProbability = Ratio(1, 2)
        let servers = (0 ..< 3).map { simulation.addNode("server-\($0)", disk: disk) }
        let clients = (0 ..< 4).map { simulation.addNode("client-\($0)") }
        for server in servers {
            server.addProcess("kv") { context in
                let inbox = context.mailbox("kv")
                var store: [String: Int] = [:]  // lookups only; never iterated
                while true {
                    let request = await inbox.receive()
                    guard let key = request.payload as? String else { continue }
                    store[key, default: 0] += 1
                    try? context.disk.append("log", Array(key.utf8))
                    if simulation.buggify(Ratio(1, 2)) { await context.sleep(nanoseconds: 3 * Nanos.millisecond) }
                    if store[key]! % 3 == 0 { try? context.disk.fsync("log"); context.disk.syncDirectory() }
                    context.reply(to: request, store[key]!)
                }
            }
        }
        for (index, client) in clients.enumerated() {
            client.addProcess("driver") { context in
                for step in 0 ..< 40 {
                    let target = servers[context.withRandom { $0.uniform(0 ..< servers.count) }]
                    let lock = "key-\(step % 3)"
                    guard case .success(let grant) = await context.acquire(lock, owner: "client-\(index)", timeout: 50 * Nanos.millisecond, lease: 20 * Nanos.millisecond) else { continue }
                    _ = await context.call(Address(node: target.id, service: "kv"), "k\(step % 5)", timeout: 10 * Nanos.millisecond)
                    simulation.locks.release(grant)
                    await context.sleep(nanoseconds: context.withRandom { $0.uniform(0 ... Nanos.millisecond) })
                }
            }
        }
        simulation.schedule(at: 30 * Nanos.millisecond) { servers[1].crash() }
        simulation.schedule(at: 60 * Nanos.millisecond) { servers[1].restart() }
        simulation.schedule(at: 40 * Nanos.millisecond) { network.partition([servers[0].id], clients.map(\.id)) }
        simulation.schedule(at: 70 * Nanos.millisecond) { network.healPartitions() }
    }

    static func fingerprint(seed: UInt64) -> (UInt64, UInt64) {
        var options = SimulationOptions()
        options.buggify = true
        options.maxTime = 10 * Nanos.second
        let simulation = Simulation(seed: seed, options: options)
        build(simulation)
        simulation.run()
        return (simulation.trace.fingerprint, simulation.eventCount)
    }
}

final class DeterminismTests: XCTestCase {
    static let seeds: [UInt64] = [1, 2, 3, 42, 1000]

    func testSameSeedSameFingerprintAndDifferentSeedsDiffer() {
        let first = Self.seeds.map { DeterminismWorkload.fingerprint(seed: $0) }
        let second = Self.seeds.map { DeterminismWorkload.fingerprint(seed: $0) }
        XCTAssertEqual(first.map(\.0), second.map(\.0))
        XCTAssertEqual(first.map(\.1), second.map(\.1))
        XCTAssertEqual(Set(first.map(\.0)).count, Self.seeds.count)
        XCTAssertTrue(first.allSatisfy { $0.1 > 1000 }, "the workload does real work: \(first.map(\.1))")
    }

    /// Helper run by `testSameFingerprintInSeparateProcessesWithoutDeterministicHashing` in child
    /// processes; run directly, it checks the same thing in this process.
    func testChildWritesFingerprints() throws {
        let lines = Self.seeds.map { seed -> String in
            let (fingerprint, events) = DeterminismWorkload.fingerprint(seed: seed)
            return "\(seed) \(hex64(fingerprint)) \(events)"
        }
        if let path = ProcessInfo.processInfo.environment["SIMKERNEL_FINGERPRINT_FILE"] {
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        let again = Self.seeds.map { "\($0) \(hex64(DeterminismWorkload.fingerprint(seed: $0).0)) \(DeterminismWorkload.fingerprint(seed: $0).1)" }
        XCTAssertEqual(lines, again)
    }

    /// Two separate processes (each with its own random hash seed, since
    /// SWIFT_DETERMINISTIC_HASHING is removed from their environment) give the fingerprints this
    /// process gives.
    func testSameFingerprintInSeparateProcessesWithoutDeterministicHashing() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var outputs: [String] = []
        for child in 0 ..< 2 {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("simkernel-fp-\(getpid())-\(child).txt")
            defer { try? FileManager.default.removeItem(at: file) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["SimKernelTests.DeterminismTests/testChildWritesFingerprints"]
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
            environment["SIMKERNEL_FINGERPRINT_FILE"] = file.path
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "child \(child) failed")
            outputs.append(try String(contentsOf: file, encoding: .utf8))
        }
        let here = Self.seeds.map { seed -> String in
            let (fingerprint, events) = DeterminismWorkload.fingerprint(seed: seed)
            return "\(seed) \(hex64(fingerprint)) \(events)"
        }.joined(separator: "\n")
        XCTAssertEqual(outputs[0], here)
        XCTAssertEqual(outputs[1], here)
    }

    func testSelfCheckPassesForADeterministicWorkload() {
        var options = SimulationOptions()
        options.buggify = true
        let report = DeterminismCheck.run(seed: 5, options: options, build: DeterminismWorkload.build)
        XCTAssertTrue(report.isDeterministic, report.description)
        XCTAssertTrue(report.description.hasPrefix("deterministic: seed 5"))
    }

    /// A workload that reads state leaking from outside the run (a global counter that differs
    /// between the two runs): the self-check must name the first divergent event, both sides.
    func testSelfCheckFindsTheFirstDivergentEvent() {
        nonisolated(unsafe) var runs = 0
        let report = DeterminismCheck.run(seed: 1) { simulation in
            runs += 1
            let leaked = UInt64(runs)
            for step in 0 ..< 10 as Range<Int64> {
                simulation.schedule(at: step * 10) {
                    // The fifth event depends on something outside the simulation.
                    let payload = step == 4 ? leaked : 0
                    simulation.record(TraceKind("work"), node: "n0", actor: "worker", payload: payload, "step \(step) value \(payload)")
                }
            }
        }
        XCTAssertFalse(report.isDeterministic)
        XCTAssertEqual(report.firstDivergentRecord?.0?.detail, "step 4 value 1")
        XCTAssertEqual(report.firstDivergentRecord?.1?.detail, "step 4 value 2")
        XCTAssertEqual(report.commonContext.map(\.detail), (0 ..< 4).map { "step \($0) value 0" })
        XCTAssertTrue(report.description.contains("run 1: 0.000s n0 worker work step 4 value 1"), report.description)
        XCTAssertNotNil(report.firstDivergentEvent)
    }

    func testBuggifySitesActivateDeterministicallyAndOnlyWhenEnabled() {
        func fired(seed: UInt64, enabled: Bool) -> [Bool] {
            var options = SimulationOptions()
            options.buggify = enabled
            let simulation = Simulation(seed: seed, options: options)
            simulation.buggifier.activation = Ratio(1, 2)
            return (0 ..< 200).map { _ in simulation.buggify(Ratio(1, 2)) } + (0 ..< 200).map { _ in simulation.buggify(.one) }
        }
        XCTAssertEqual(fired(seed: 7, enabled: true), fired(seed: 7, enabled: true))
        XCTAssertFalse(fired(seed: 7, enabled: false).contains(true))
        // Across 64 seeds each of the two sites is active in some runs and inactive in others
        // (each state has probability 2^-64 of never showing up).
        let runs = (0 ..< 64).map { fired(seed: $0, enabled: true) }
        let secondSiteActive = runs.map { $0[200] }
        XCTAssertTrue(secondSiteActive.contains(true) && secondSiteActive.contains(false))
        for run in runs where run[200] {
            XCTAssertTrue(run[200...].allSatisfy { $0 }, "an active site with probability 1 always fires")
        }
    }

    func testBuggifyRecordsWhichSitesFired() {
        var options = SimulationOptions()
        options.buggify = true
        let simulation = Simulation(seed: 3, options: options)
        simulation.buggifier.activation = .one
        XCTAssertTrue(simulation.buggify(.one))
        XCTAssertEqual(simulation.buggifier.firedSites.count, 1)
        XCTAssertTrue(simulation.buggifier.firedSites[0].hasPrefix("SimKernelTests/DeterminismTests.swift:"))
    }
}
