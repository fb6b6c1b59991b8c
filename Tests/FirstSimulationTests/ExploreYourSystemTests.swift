import FirstSimulation
import Foundation
import SimKernel
import SimTesting
import XCTest

/// docs/library.md's key-value store as a `SimulationSystem`: explored over seeds into a results
/// file and a folder of seed files, a seed file replayed, shrunk and reported, as a user of the
/// library would do it for their own system.
final class ExploreYourSystemTests: XCTestCase {
    /// The store with the bug (acknowledging before the sync), its knobs: writes, drops in 50, crashes.
    let buggy = SimulationSystem(name: "kv-store", knobs: [Knob("writes", 40, minimum: 1), Knob("drops", 1), Knob("crashes", 1)],
                                 options: keyValueStoreOptions) { simulation, knobs in
        installKeyValueStore(simulation, ackBeforeSync: true, writes: knobs["writes"], drops: knobs["drops"], crashes: knobs["crashes"])
    }
    let fixed = SimulationSystem(name: "kv-store-fixed", knobs: [Knob("writes", 40, minimum: 1)], options: keyValueStoreOptions) { simulation, knobs in
        installKeyValueStore(simulation, ackBeforeSync: false, writes: knobs["writes"])
    }

    var folder: String!
    override func setUp() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("explore-\(getpid())-\(name.hashValue & 0xffff)").path
        try? FileManager.default.removeItem(atPath: folder)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// The system at its default knobs runs exactly as `runKeyValueStore` does (same fingerprint).
    func testASystemRunIsTheSameRunAsTheHandWrittenOne() {
        let run = buggy.run(seed: 3)
        let handWritten = runKeyValueStore(seed: 3, ackBeforeSync: true)
        XCTAssertEqual(run.outcome, handWritten.outcome)
        XCTAssertEqual(run.fingerprint, handWritten.fingerprint)
    }

    /// Exploring 1...20 on two threads finds lost writes, writes one seed file per failure, and
    /// gives each seed the fingerprint a run on this thread gives it.
    func testExploreFindsTheLostWriteAndWritesSeedFiles() throws {
        let exploration = try buggy.explore(seeds: 1 ... 20, jobs: 2, seedsOut: folder)
        XCTAssertEqual(exploration.results.map(\.seed), Array(1 ... 20))
        XCTAssertEqual(exploration.ran, 20)
        XCTAssertFalse(exploration.failures.isEmpty, "the bug loses a write in some of 20 seeds")
        XCTAssertTrue(exploration.failures.allSatisfy { $0.checker == "lost-write" })
        for failure in exploration.failures {
            let path = try XCTUnwrap(failure.seedFile)
            XCTAssertEqual(path, (folder as NSString).appendingPathComponent("kv-store-lost-write-\(failure.seed).seed"))
            XCTAssertEqual(try SystemSeedFile.load(path: path).fingerprint, failure.fingerprint)
        }
        let seven = try XCTUnwrap(exploration.results.first { $0.seed == 7 })
        XCTAssertEqual(buggy.run(seed: 7).fingerprint, seven.fingerprint, "a run on another thread is the same run")
    }

    /// A results file makes exploring resumable: the second call runs only the seeds it lacks.
    func testExploreResumesFromItsResultsFile() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let results = (folder as NSString).appendingPathComponent("results.jsonl")
        let first = try fixed.explore(seeds: 1 ... 5, results: results)
        XCTAssertEqual(first.ran, 5)
        let second = try fixed.explore(seeds: 1 ... 8, results: results)
        XCTAssertEqual(second.ran, 3, "seeds 1-5 were stored")
        XCTAssertEqual(second.results.map(\.seed), Array(1 ... 8))
        XCTAssertEqual(Array(second.results.prefix(5)), first.results)
        let lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 9, "a header and eight results")
        // Another system (or other knobs) is refused, naming the file and its first line.
        XCTAssertThrowsError(try buggy.explore(seeds: 1 ... 2, results: results)) { error in
            XCTAssertEqual((error as? SystemFileError)?.line, 1)
            XCTAssertTrue("\(error)".hasPrefix("\(results):1: header: the file holds"), "\(error)")
        }
    }

    /// A results file whose last line an interruption cut: the cut line is dropped, its seed runs
    /// again, and the file stays one result a line (a third call reads it whole).
    func testAResultLineCutByAnInterruptionIsRunAgain() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let results = (folder as NSString).appendingPathComponent("results.jsonl")
        _ = try fixed.explore(seeds: 1 ... 3, results: results)
        var text = try String(contentsOfFile: results, encoding: .utf8)
        text.removeLast(20)  // the last result, cut mid-line
        try text.write(toFile: results, atomically: true, encoding: .utf8)
        let resumed = try fixed.explore(seeds: 1 ... 4, results: results)
        XCTAssertEqual(resumed.ran, 2, "the cut seed and the new one")
        XCTAssertEqual(resumed.results.map(\.seed), [1, 2, 3, 4])
        let third = try fixed.explore(seeds: 1 ... 4, results: results)
        XCTAssertEqual(third.ran, 0)
        XCTAssertEqual(try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n").count, 5, "a header and four results")
    }

    /// A seed file whose knob is below the knob's minimum is refused, naming the knob.
    func testAKnobBelowItsMinimumIsRefused() {
        var file = buggy.seedFile(for: buggy.run(seed: 1))
        file.knobs = file.knobs.map { $0.0 == "writes" ? ("writes", 0) : $0 }
        XCTAssertThrowsError(try buggy.replay(file)) { error in
            XCTAssertEqual("\(error)", "seed file: knobs.writes: 0 is below the knob's minimum 1")
        }
    }

    /// A seed file round-trips through its text, and replays bit for bit.
    func testASeedFileReplaysBitForBit() throws {
        let failure = try XCTUnwrap((1 ... 30).lazy.map { self.buggy.run(seed: $0) }.first { $0.outcome.isFailure })
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent("one.seed")
        try buggy.seedFile(for: failure).write(to: path)
        var loaded = try SystemSeedFile.load(path: path)
        XCTAssertEqual(loaded.path, path)
        loaded.path = nil
        XCTAssertEqual(loaded, buggy.seedFile(for: failure))
        let verdict = try buggy.replay(try SystemSeedFile.load(path: path))
        XCTAssertTrue(verdict.matches, "\(verdict.differences)")
        XCTAssertEqual(verdict.run.fingerprint, failure.fingerprint)
        // The fixed store at the same seed and knobs passes: the file names what differs.
        var other = buggy.seedFile(for: failure)
        other.system = "kv-store-fixed"
        other.knobs = [("writes", 40)]
        let differs = try fixed.replay(other)
        XCTAssertFalse(differs.matches)
        XCTAssertTrue(differs.differences[0].hasPrefix("outcome passed [-], recorded violation [lost-write]"), "\(differs.differences)")
    }

    /// Shrinking lowers the knobs while the same checker still fails, never in more events.
    func testShrinkLowersTheKnobsAndKeepsTheFailure() throws {
        let failure = try XCTUnwrap((1 ... 30).lazy.map { self.buggy.run(seed: $0) }.first { $0.outcome.isFailure })
        let shrinking = try buggy.shrink(buggy.seedFile(for: failure))
        let knobs = Dictionary(uniqueKeysWithValues: shrinking.shrunk.knobs)
        XCTAssertLessThan(knobs["writes"]!, 40, "fewer writes still lose one: \(shrinking.steps)")
        XCTAssertEqual(knobs["crashes"], 1, "without the crash nothing is lost")
        XCTAssertEqual(shrinking.shrunk.checker, "lost-write")
        XCTAssertLessThanOrEqual(shrinking.shrunk.events, failure.events)
        XCTAssertFalse(shrinking.steps.isEmpty)
        XCTAssertTrue(try buggy.replay(shrinking.shrunk).matches, "the shrunk file replays")
    }

    /// The report shows the checker, the message, the knobs, one timeline row per node with the
    /// crash and the failure marked, and how to reproduce the run.
    func testTheReportShowsTheFailureAndTheTimeline() throws {
        let failure = try XCTUnwrap((1 ... 30).lazy.map { self.buggy.run(seed: $0) }.first { $0.outcome.isFailure })
        let html = try buggy.report(buggy.seedFile(for: failure), seedFilePath: "seeds/kv.seed")
        XCTAssertTrue(html.contains("<b id=\"checker\">lost-write</b>"))
        XCTAssertTrue(html.contains(failure.outcome.message.replacingOccurrences(of: "\"", with: "&quot;")))
        XCTAssertTrue(html.contains("<tr><td>writes</td><td>40</td></tr>"))
        XCTAssertTrue(html.contains(">kv</text>") && html.contains(">client</text>"), "a row per node")
        XCTAssertTrue(html.contains("class=\"node.crash\"") && html.contains("class=\"node.restart\""), "the crash and restart are marked")
        XCTAssertTrue(html.contains("id=\"failure\""))
        XCTAssertTrue(html.contains("SystemSeedFile.load(path: &quot;seeds/kv.seed&quot;)"))
        XCTAssertTrue(html.contains("replays bit for bit"))
    }

    /// A hand-edited seed file with a bad field is refused with its file, line and field.
    func testABadSeedFileNamesTheFileLineAndField() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent("bad.seed")
        var text = buggy.seedFile(for: buggy.run(seed: 1)).text
        text = text.replacingOccurrences(of: "\"events\": ", with: "\"events\": -")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SystemSeedFile.load(path: path)) { error in
            let line = text.split(separator: "\n").firstIndex { $0.contains("\"events\"") }! + 1
            XCTAssertEqual("\(error)", "\(path):\(line): events: must be at least 0")
        }
        try "{\"format\": \"simkernel-system-seed/1\", \"seed\": 1, \"seed\": 2}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SystemSeedFile.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path):1: file: "), "a duplicate key is refused: \(error)")
        }
        var unknown = buggy.seedFile(for: buggy.run(seed: 1))
        unknown.knobs.append(("clients", 3))
        XCTAssertThrowsError(try buggy.replay(unknown)) { error in
            XCTAssertEqual((error as? SystemFileError)?.field, "knobs.clients")
        }
    }
}
