import XCTest
@testable import SimKernel

final class DiskTests: XCTestCase {
    private func disk(_ configure: (inout DiskOptions) -> Void = { _ in }) -> SimDisk {
        var options = DiskOptions()
        configure(&options)
        return SimDisk(options: options)
    }

    func testReadYourWritesWhileUp() throws {
        let disk = self.disk()
        try disk.write("f", at: 0, Array("hello".utf8))
        try disk.write("f", at: 10, Array("world".utf8))
        XCTAssertEqual(try disk.readAll("f"), Array("hello".utf8) + [0, 0, 0, 0, 0] + Array("world".utf8))
        XCTAssertEqual(try disk.read("f", at: 12, count: 100), Array("rld".utf8))
        try disk.truncate("f", to: 2)
        XCTAssertEqual(try disk.readAll("f"), Array("he".utf8))
        XCTAssertThrowsError(try disk.readAll("missing")) { XCTAssertEqual($0 as? DiskError, .fileNotFound(path: "missing")) }
    }

    /// Sweeps 200 seeds: a crash keeps exactly what was synced and loses exactly what was not.
    func testCrashLosesExactlyTheUnsyncedWrites() throws {
        for seed in 0 ..< UInt64(200) {
            let disk = self.disk()
            var random = SimRandom(seed: seed)
            var synced: [UInt8] = []
            var current: [UInt8] = []
            try disk.create("log")
            try disk.fsync("log")
            disk.syncDirectory()
            for _ in 0 ..< random.uniform(1 ..< 20) {
                let chunk = (0 ..< random.uniform(1 ..< 1500)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                try disk.append("log", chunk)
                current += chunk
                if random.chance(Ratio(1, 3)) {
                    try disk.fsync("log")
                    synced = current
                }
            }
            var crashRandom = SimRandom(seed: seed &+ 1000)
            _ = disk.crash(random: &crashRandom)
            XCTAssertEqual(try disk.readAll("log"), synced, "seed \(seed)")
        }
    }

    /// Sweeps 200 seeds of overwrites, writes past the end (gaps), truncations, syncs and repeated
    /// crashes against a model of the file: after each crash the file holds exactly the bytes of
    /// its last sync. (`fsync` copies only the sectors that changed, so a missed sector or a
    /// stale length would show here.)
    func testOverwritesTruncatesAndCrashesKeepExactlyTheLastSync() throws {
        for seed in 0 ..< UInt64(200) {
            let disk = self.disk()
            var random = SimRandom(seed: seed)
            var synced: [UInt8] = [], current: [UInt8] = []
            disk.create("db")
            try disk.fsync("db")
            disk.syncDirectory()
            for step in 0 ..< 60 {
                switch random.uniform(0 ..< 10) {
                case 0 ..< 5:
                    let offset = random.uniform(0 ..< Swift.max(1, current.count + 700))
                    let bytes = (0 ..< random.uniform(1 ..< 1200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    try disk.write("db", at: offset, bytes)
                    if current.count < offset + bytes.count { current += [UInt8](repeating: 0, count: offset + bytes.count - current.count) }
                    current.replaceSubrange(offset ..< offset + bytes.count, with: bytes)
                case 5:
                    let length = random.uniform(0 ..< current.count + 600)
                    try disk.truncate("db", to: length)
                    if length < current.count { current.removeSubrange(length...) } else { current += [UInt8](repeating: 0, count: length - current.count) }
                case 6 ..< 9:
                    try disk.fsync("db")
                    synced = current
                default:
                    var crashRandom = SimRandom(seed: seed &* 1000 &+ UInt64(step))
                    _ = disk.crash(random: &crashRandom)
                    XCTAssertEqual(try disk.readAll("db"), synced, "seed \(seed) step \(step): after a crash")
                    current = synced
                }
                XCTAssertEqual(try disk.readAll("db"), current, "seed \(seed) step \(step): while up")
            }
        }
    }

    func testNamesAreDurableOnlyAfterADirectorySync() throws {
        let disk = self.disk()
        try disk.writeAll("checkpoint.tmp", [1, 2, 3])
        try disk.fsync("checkpoint.tmp")
        try disk.rename("checkpoint.tmp", to: "checkpoint")
        var random = SimRandom(seed: 1)
        _ = disk.crash(random: &random)
        XCTAssertFalse(disk.exists("checkpoint"), "the new name was never made durable")
        XCTAssertFalse(disk.exists("checkpoint.tmp"), "nor was the file's creation")

        try disk.writeAll("checkpoint.tmp", [4, 5, 6])
        try disk.fsync("checkpoint.tmp")
        try disk.rename("checkpoint.tmp", to: "checkpoint")
        disk.syncDirectory()
        _ = disk.crash(random: &random)
        XCTAssertEqual(try disk.readAll("checkpoint"), [4, 5, 6])
        XCTAssertEqual(disk.list(), ["checkpoint"])
    }

    func testTornWritesKeepWholeSectorsFromEitherVersion() throws {
        var tornCount = 0
        for seed in 0 ..< UInt64(100) {
            let disk = self.disk { $0.tornWriteProbability = .one }
            let old = [UInt8](repeating: 0xAA, count: 4096)
            try disk.writeAll("db", old)
            try disk.fsync("db")
            disk.syncDirectory()
            let new = [UInt8](repeating: 0xBB, count: 4096)
            try disk.write("db", at: 0, new)
            var random = SimRandom(seed: seed)
            let report = disk.crash(random: &random)
            let after = try disk.readAll("db")
            XCTAssertEqual(after.count, 4096)
            for sector in 0 ..< 8 {
                let bytes = Set(after[sector * 512 ..< (sector + 1) * 512])
                XCTAssertTrue(bytes == [0xAA] || bytes == [0xBB], "seed \(seed) sector \(sector) mixed within a sector")
            }
            XCTAssertEqual(report.sectorsKept + report.sectorsLost, 8)
            if Set(after).count == 2 { tornCount += 1 }
        }
        // Each of 8 sectors is kept with probability 1/2: all-equal happens with p = 2/256 per seed.
        XCTAssertGreaterThan(tornCount, 80)
    }

    func testFullDiskRejectsWritesAndKeepsTheOldContent() throws {
        let disk = self.disk { $0.capacityBytes = 1000 }
        try disk.write("a", at: 0, [UInt8](repeating: 1, count: 800))
        XCTAssertThrowsError(try disk.append("a", [UInt8](repeating: 2, count: 300))) {
            XCTAssertEqual($0 as? DiskError, .full(path: "a", needed: 300, free: 200))
        }
        XCTAssertEqual(try disk.size("a"), 800)
    }

    /// Corrupted reads at 1/10 over 5,000 reads: expected 500, sd 21.2; +-6 sd = 373 ... 627.
    func testReadCorruptionFlipsOneBitAtItsRate() throws {
        let disk = self.disk { $0.readCorruptionProbability = Ratio(1, 10) }
        disk.seedFaults(SimRandom(seed: 4))
        let data = [UInt8](repeating: 0, count: 64)
        try disk.writeAll("x", data)
        var flipped = 0
        for _ in 0 ..< 5000 {
            let read = try disk.readAll("x")
            let bits = read.reduce(0) { $0 + $1.nonzeroBitCount }
            XCTAssertLessThanOrEqual(bits, 1)
            flipped += bits
        }
        XCTAssertTrue((373 ... 627).contains(flipped), "flipped \(flipped)")
        XCTAssertEqual(disk.corruptedReads, flipped)
    }

    func testAsyncDiskOperationsTakeTheirLatency() {
        var options = DiskOptions()
        options.ioLatency = .constant(2 * Nanos.millisecond)
        options.syncLatency = .constant(5 * Nanos.millisecond)
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n", disk: options)
        var finished: Int64 = -1
        node.addProcess("writer") { context in
            try? await context.diskWrite("f", at: 0, [1])
            try? await context.diskSync("f")
            finished = simulation.now
        }
        simulation.run()
        XCTAssertEqual(finished, 7 * Nanos.millisecond)
    }

    /// The bitmap of dirty sectors holds what a `Set<Int>` fed the same operations holds, and
    /// gives it in increasing order (a crash draws over the sectors in that order).
    func testSectorSetHoldsWhatASetHoldsInIncreasingOrderForDrawnOperations() {
        var random = SimRandom(rootSeed: 3, stream: "sector-set")
        for _ in 0 ..< 300 {
            var sectors = SectorSet(), reference = Set<Int>()
            for _ in 0 ..< random.uniform(0 ..< 60) {
                switch random.uniform(0 ..< 10) {
                case 0:
                    let keep = random.uniform(0 ..< 2) == 0
                    sectors.removeAll(keepingCapacity: keep)
                    reference.removeAll()
                default:
                    // Mostly small sector numbers (one word), sometimes far ones (many words).
                    let sector = random.uniform(0 ..< 4) == 0 ? random.uniform(0 ..< 1_000) : random.uniform(0 ..< 70)
                    sectors.insert(sector)
                    reference.insert(sector)
                }
                XCTAssertEqual(sectors.sorted(), reference.sorted())
                XCTAssertEqual(sectors.count, reference.count)
                XCTAssertEqual(sectors.isEmpty, reference.isEmpty)
            }
            for probe in [0, 1, 63, 64, 65, 999, 5_000] { XCTAssertEqual(sectors.contains(probe), reference.contains(probe), "sector \(probe)") }
        }
    }

    /// Writes (in place, across the end, past the end leaving a gap, appends from an array or a
    /// raw buffer), truncations and fsyncs leave the volatile and durable bytes a plain model says
    /// (volatile: the bytes written, zeros in gaps; durable: the volatile bytes at the last
    /// fsync), and a crash without tearing leaves the durable bytes.
    func testWritesTruncationsAndFsyncsMatchAPlainByteModelForDrawnOperations() throws {
        var random = SimRandom(rootSeed: 21, stream: "disk-model")
        for round in 0 ..< 200 {
            let disk = self.disk { $0.sectorSize = [1, 7, 512][round % 3] }
            var volatile: [UInt8] = [], durable: [UInt8] = []
            disk.create("f")
            try disk.fsync("f")
            disk.syncDirectory()
            for _ in 0 ..< random.uniform(1 ..< 30) {
                switch random.uniform(0 ..< 6) {
                case 0, 1:
                    let bytes = (0 ..< random.uniform(0 ..< 40)).map { _ in UInt8(truncatingIfNeeded: random.next() | 1) }
                    let offset = random.uniform(0 ..< volatile.count + 20)
                    if random.uniform(0 ..< 2) == 0 {
                        try disk.write("f", at: offset, bytes)
                    } else {
                        try bytes.withUnsafeBytes { (source) throws in try disk.write("f", at: offset, from: source) }
                    }
                    if offset + bytes.count > volatile.count { volatile += [UInt8](repeating: 0, count: offset + bytes.count - volatile.count) }
                    volatile.replaceSubrange(offset ..< offset + bytes.count, with: bytes)
                case 2:
                    let bytes = (0 ..< random.uniform(0 ..< 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    try disk.append("f", bytes)
                    volatile += bytes
                case 3:
                    let length = random.uniform(0 ..< volatile.count + 10)
                    try disk.truncate("f", to: length)
                    volatile = length <= volatile.count ? Array(volatile[..<length]) : volatile + [UInt8](repeating: 0, count: length - volatile.count)
                default:
                    try disk.fsync("f")
                    durable = volatile
                }
                XCTAssertEqual(try disk.readAll("f"), volatile, "round \(round)")
            }
            var crash = SimRandom(seed: UInt64(round))
            _ = disk.crash(random: &crash)  // torn writes are off by default: the unsynced bytes are lost
            XCTAssertEqual(try disk.readAll("f"), durable, "round \(round): after the crash")
        }
    }
}
