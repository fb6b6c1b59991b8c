import XCTest
import Foundation
@testable import SimKernel

final class TraceTests: XCTestCase {
    private func tracedRun(sinks: [TraceSink], ring: Int = 256) -> Simulation {
        var options = SimulationOptions()
        options.traceRingCapacity = ring
        let simulation = Simulation(seed: 9, options: options)
        for sink in sinks { simulation.trace.add(sink: sink) }
        let a = simulation.addNode("alpha"), b = simulation.addNode("beta")
        b.addProcess("server") { context in
            let inbox = context.mailbox("s")
            while true { let e = await inbox.receive(); context.reply(to: e, "pong \"quoted\"\n") }
        }
        a.addProcess("client") { context in
            for i in 0 ..< 5 { _ = await context.call(Address(node: b.id, service: "s"), i, timeout: Nanos.second) }
        }
        simulation.run()
        return simulation
    }

    func testEveryEventChangesTheFingerprint() {
        let simulation = tracedRun(sinks: [])
        let records = simulation.trace.recent
        XCTAssertGreaterThan(records.count, 20)
        XCTAssertEqual(Set(records.map(\.fingerprint)).count, records.count)
        XCTAssertNotEqual(records.first?.fingerprint, simulation.trace.fingerprint)
    }

    func testRingBufferKeepsTheLastRecordsInOrder() {
        let full = tracedRun(sinks: [], ring: 1000).trace.recent
        let small = tracedRun(sinks: [], ring: 8).trace.recent
        XCTAssertEqual(small.count, 8)
        XCTAssertEqual(small, Array(full.suffix(8)))
        XCTAssertEqual(small.map(\.index), Array(full.suffix(8).map(\.index)))
        let involving = tracedRun(sinks: [], ring: 1000).trace.recent(involving: ["beta"], limit: 3)
        XCTAssertEqual(involving.count, 3)
        XCTAssertTrue(involving.allSatisfy { $0.node == "beta" })
    }

    func testJSONLinesSinkWritesOneValidObjectPerRecord() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let simulation = tracedRun(sinks: [try JSONLinesTraceSink(path: path)], ring: 1000)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(UInt64(lines.count), simulation.trace.recordCount + 1)
        for line in lines.dropLast() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertNotNil(object["t_ns"] as? Int)
            XCTAssertNotNil(object["kind"] as? String)
            XCTAssertTrue((object["fp"] as? String)?.hasPrefix("0x") ?? false)
        }
        // The last line closes the file with the run's final fingerprint and event count.
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        XCTAssertEqual(last["end"] as? Bool, true)
        XCTAssertEqual(last["fingerprint"] as? String, hex64(simulation.trace.fingerprint))
        XCTAssertEqual(last["records"] as? Int, Int(simulation.trace.recordCount))
    }

    func testChromeTraceIsAValidTraceEventArrayWithNamedProcesses() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let simulation = tracedRun(sinks: [try ChromeTraceSink(path: path)])
        let events = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [[String: Any]]
        let names = events.filter { $0["name"] as? String == "process_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
        XCTAssertEqual(Set(names), ["alpha", "beta"])
        // One actor, one track: each node runs one process, and its deliveries (recorded under the
        // mailbox's name) go on that process's track.
        let threads = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
        XCTAssertEqual(threads.sorted(), ["client", "server"])
        // One event a record: network records as 1 ns slices (for their flow arrows), the others instants.
        let recorded = events.filter { ["sim", "net", "lock"].contains($0["cat"] as? String ?? "") && ["i", "X"].contains($0["ph"] as? String ?? "") }
        XCTAssertEqual(UInt64(recorded.count), simulation.trace.recordCount)
        XCTAssertTrue(recorded.allSatisfy { $0["ts"] is Double || $0["ts"] is Int })
        XCTAssertTrue(recorded.contains { ($0["args"] as? [String: Any])?["detail"] as? String == "#2 to n0/client pong \"quoted\"\n" })
    }

    /// What a person opening the trace in Perfetto relies on: an arrow from each send to its
    /// delivery, each lock hold as a span on its node's "locks" track, and the failure itself as
    /// an event across every track.
    func testChromeTraceHasFlowsLockSpansAndTheFailure() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-flows-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let simulation = Simulation(seed: 4)
        simulation.trace.add(sink: try ChromeTraceSink(path: path))
        let a = simulation.addNode("alpha"), b = simulation.addNode("beta")
        b.addProcess("server") { context in
            let inbox = context.mailbox("s")
            while true { let e = await inbox.receive(); context.reply(to: e, "pong") }
        }
        var done = false
        a.addProcess("client") { context in
            for i in 0 ..< 3 {
                _ = await context.acquire("table-\(i)", owner: "alpha/tx-\(i)")
                _ = await context.call(Address(node: b.id, service: "s"), i, timeout: Nanos.second)
                _ = context.simulation.locks.release("table-\(i)", owner: "alpha/tx-\(i)")
            }
            done = true
        }
        simulation.add(checker: ClosureChecker("three-pongs") { _ in done ? "all three answered" : nil })
        XCTAssertEqual(simulation.run().checker, "three-pongs", "the premise: the run fails")
        let events = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [[String: Any]]
        // Flows: every arrow's start has its end, and the sends' arrows are the ones the deliveries close.
        let starts = Set(events.filter { $0["cat"] as? String == "flow" && $0["ph"] as? String == "s" }.compactMap { $0["id"] as? Int })
        let ends = Set(events.filter { $0["cat"] as? String == "flow" && $0["ph"] as? String == "f" }.compactMap { $0["id"] as? Int })
        XCTAssertGreaterThanOrEqual(starts.count, 4)
        XCTAssertEqual(starts, ends, "no message was lost: every send's arrow ends at a delivery")
        // Lock holds: a begin and an end per grant, all on one "locks" track of alpha.
        let holds = events.filter { $0["cat"] as? String == "lock" && ["b", "e"].contains($0["ph"] as? String ?? "") }
        XCTAssertEqual(holds.filter { $0["ph"] as? String == "b" }.count, 3)
        XCTAssertEqual(Set(holds.compactMap { $0["id"] as? Int }).count, 3, "begin and end share the grant's token")
        XCTAssertEqual(Set(holds.compactMap { $0["name"] as? String }), ["hold table-0", "hold table-1", "hold table-2"])
        let threads = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
        XCTAssertEqual(threads.filter { $0 == "locks" }.count, 1)
        XCTAssertFalse(threads.contains { $0.hasPrefix("alpha/tx-") }, "one-shot lock owners get no track of their own")
        // The failure, once, as a global instant.
        let failures = events.filter { $0["cat"] as? String == "failure" }
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(failures.first?["name"] as? String, "failure: violation [three-pongs]")
        XCTAssertEqual(failures.first?["s"] as? String, "g")
    }

    /// On a node that runs several processes, a mailbox's traffic (recorded under the mailbox's
    /// name) goes on the track of the process that opened it, and the trace's fingerprint is the
    /// same with the Chrome sink as without.
    func testChromeTracePutsAMailboxOnItsOwnersTrack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-owners-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func run(sink: TraceSink?) -> Simulation {
            let simulation = Simulation(seed: 5)
            if let sink { simulation.trace.add(sink: sink) }
            let a = simulation.addNode("alpha"), b = simulation.addNode("beta")
            a.addProcess("server") { context in
                let inbox = context.mailbox("inbox")
                while true { let e = await inbox.receive(); context.reply(to: e, "pong") }
            }
            a.addProcess("ticker") { context in
                for _ in 0 ..< 3 { await context.sleep(nanoseconds: Nanos.millisecond); context.record(TraceKind("tick")) }
            }
            b.addProcess("client") { context in
                for i in 0 ..< 3 { _ = await context.call(Address(node: a.id, service: "inbox"), i, timeout: Nanos.second) }
            }
            simulation.run()
            return simulation
        }
        let traced = run(sink: try ChromeTraceSink(path: path))
        XCTAssertEqual(traced.trace.fingerprint, run(sink: nil).trace.fingerprint)
        let events = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [[String: Any]]
        let alpha = try XCTUnwrap(events.first { $0["name"] as? String == "process_name" && ($0["args"] as? [String: Any])?["name"] as? String == "alpha" }?["pid"] as? Int)
        let tracks = Dictionary(uniqueKeysWithValues: events.filter { $0["name"] as? String == "thread_name" && $0["pid"] as? Int == alpha }
            .compactMap { event -> (String, Int)? in
                guard let name = (event["args"] as? [String: Any])?["name"] as? String, let tid = event["tid"] as? Int else { return nil }
                return (name, tid)
            })
        XCTAssertEqual(tracks.keys.sorted(), ["server", "ticker"], "no track of its own for the mailbox")
        let deliveries = events.filter { $0["name"] as? String == "net.deliver" && $0["pid"] as? Int == alpha }
        XCTAssertEqual(deliveries.count, 3)
        XCTAssertTrue(deliveries.allSatisfy { $0["tid"] as? Int == tracks["server"] }, "the inbox's deliveries are the server's")
    }

    func testUnwritableTracePathIsATypedError() {
        XCTAssertThrowsError(try JSONLinesTraceSink(path: "/nonexistent-dir/trace.jsonl")) { error in
            XCTAssertEqual("\(error)", "cannot write /nonexistent-dir/trace.jsonl: no folder /nonexistent-dir")
            XCTAssertTrue(error is OutputFileError)
        }
    }

    func testATraceIsWrittenWholeOrNotAtAllAndNeverThroughALink() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.jsonl").path
        let sink = try JSONLinesTraceSink(path: path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing at the target until the run ends")
        sink.finish(fingerprint: 7)
        XCTAssertNil(sink.error)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"end\":true,\"fingerprint\":\"0x0000000000000007\",\"records\":0}\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["t.jsonl"], "no temporary file left")
        let link = folder.appendingPathComponent("link.jsonl").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        XCTAssertThrowsError(try JSONLinesTraceSink(path: link)) { XCTAssertTrue("\($0)".contains("symbolic link"), "\($0)") }
    }

    func testJSONEscaping() {
        XCTAssertEqual(jsonEscaped("a\"b\\c\n\u{01}"), "\"a\\\"b\\\\c\\n\\u0001\"")
    }
}
