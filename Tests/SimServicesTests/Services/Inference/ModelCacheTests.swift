import XCTest
@testable import SimServices

final class ModelCacheTests: XCTestCase {
    private func artifact(_ version: Int64, mib: Int = 100) -> ModelArtifact {
        ModelArtifact(model: "m", version: version, residentMiB: mib, weights: [Float(version), 1, 2, 3])
    }
    private func key(_ version: Int64) -> ModelKey { ModelKey("m", version) }

    func testEvictsTheLeastRecentlyUsedVersionBeyondCapacity() {
        var cache = ModelCache(capacity: 2)
        XCTAssertTrue(cache.insert(artifact(1)).isEmpty)
        XCTAssertTrue(cache.insert(artifact(2)).isEmpty)
        XCTAssertTrue(cache.pin(key(1)))  // v1 used after v2: v2 is now the least recently used
        _ = cache.unpin(key(1))
        let evicted = cache.insert(artifact(3))
        XCTAssertEqual(evicted.map(\.artifact.version), [2])
        XCTAssertEqual(cache.keys, [key(1), key(3)])
    }

    func testNeverEvictsAVersionInUse() {
        var cache = ModelCache(capacity: 1)
        _ = cache.insert(artifact(1))
        XCTAssertTrue(cache.pin(key(1)))
        XCTAssertTrue(cache.pin(key(1)))
        XCTAssertTrue(cache.insert(artifact(2)).isEmpty, "v1 is in use and v2 was just loaded: nothing can go yet")
        XCTAssertEqual(cache.count, 2)
        XCTAssertEqual(cache.spared, key(2), "v2 is kept over capacity until the next unpin")
        XCTAssertEqual(cache.unpin(key(1)).map(\.artifact.version), [2], "over capacity, the one version not in use goes (v1 is still in use)")
        XCTAssertEqual(cache.keys, [key(1)])
        XCTAssertNil(cache.spared)
        XCTAssertTrue(cache.unpin(key(1)).isEmpty, "within capacity: the last unpin evicts nothing")
        XCTAssertEqual(cache.pins(key(1)), 0)
    }

    func testAnEvictionThatWaitedHappensAtTheUnpin() {
        var cache = ModelCache(capacity: 1)
        _ = cache.insert(artifact(1))
        XCTAssertTrue(cache.pin(key(1)))
        _ = cache.insert(artifact(2), pinned: true)  // a request loaded v2 and uses it
        XCTAssertEqual(cache.count, 2, "both in use: over capacity until one is released")
        XCTAssertNil(cache.spared, "v2 is in use: nothing idle is kept over capacity")
        XCTAssertEqual(cache.unpin(key(1)).map(\.artifact.version), [1], "v1's last use ends: it goes")
        XCTAssertEqual(cache.keys, [key(2)])
    }

    func testTheVersionJustInsertedIsNeverItsOwnVictim() {
        var cache = ModelCache(capacity: 1)
        _ = cache.insert(artifact(1))
        XCTAssertTrue(cache.pin(key(1)))
        XCTAssertTrue(cache.insert(artifact(2)).isEmpty)
        XCTAssertEqual(cache.keys, [key(1), key(2)], "v2 stays although v1 is pinned and the cache is over capacity")
    }

    func testReinsertingALoadedVersionEvictsNothingAndKeepsOneCopy() {
        var cache = ModelCache(capacity: 2)
        _ = cache.insert(artifact(1))
        _ = cache.insert(artifact(2))
        XCTAssertTrue(cache.insert(artifact(1)).isEmpty)
        XCTAssertEqual(cache.count, 2)
        XCTAssertEqual(cache.residentBytes, 200 << 20)
    }

    func testResidentBytesAreTheSumOfTheCachedVersions() {
        var cache = ModelCache(capacity: 3)
        _ = cache.insert(artifact(1, mib: 100))
        _ = cache.insert(artifact(2, mib: 250))
        XCTAssertEqual(cache.residentBytes, 350 << 20)
        _ = cache.insert(artifact(3, mib: 1))
        _ = cache.insert(artifact(4, mib: 1))
        XCTAssertEqual(cache.residentBytes, (250 + 1 + 1) << 20, "v1 (least recently used) went")
    }

    func testH1EvictionTakesTheOldestLoadedVersionEvenWhileInUse() {
        var cache = ModelCache(capacity: 2)
        cache.evictsInUse = true
        _ = cache.insert(artifact(1))
        _ = cache.insert(artifact(2))
        XCTAssertTrue(cache.pin(key(1)))  // in use, and the most recently used
        let evicted = cache.insert(artifact(3))
        XCTAssertEqual(evicted.map(\.artifact.version), [1], "H1 evicts by load order, ignoring the pin")
        XCTAssertEqual(evicted.first?.pins, 1)
        XCTAssertNil(cache.artifact(key(1)), "the request using v1 finds its weights gone")
    }

    func testUnpinningAnUnknownVersionChangesNothing() {
        var cache = ModelCache(capacity: 1)
        _ = cache.insert(artifact(1))
        XCTAssertTrue(cache.unpin(key(9)).isEmpty)
        XCTAssertFalse(cache.pin(key(9)))
        XCTAssertEqual(cache.keys, [key(1)])
    }
}

final class ModelArtifactTests: XCTestCase {
    func testAnArtifactRoundTripsThroughItsFile() {
        let artifact = ModelArtifact(model: "fraud-detector", version: 12, residentMiB: 500, weights: [0.8, -0.5, 0.25, 1e-3])
        XCTAssertEqual(ModelArtifact(decoding: artifact.encoded), artifact)
        XCTAssertEqual(artifact.residentBytes, 500 << 20)
        XCTAssertEqual(artifact.features, ["f0", "f1", "f2"], "one feature per weight but the bias, named by position by default")
        let named = ModelArtifact(model: "ranker", version: 3, residentMiB: 50, weights: [1, 2, 3, 4, 5], features: ["age", "income", "score", "segment"])
        XCTAssertEqual(ModelArtifact(decoding: named.encoded)?.features, ["age", "income", "score", "segment"])
    }

    func testMalformedFilesAreRefused() {
        let good = String(decoding: ModelArtifact(model: "m", version: 1, residentMiB: 5, weights: [1, 2]).encoded, as: UTF8.self)
        let broken = [
            "", "not a model", good.replacingOccurrences(of: "synapsenet-model 1", with: "synapsenet-model 2"),
            good.replacingOccurrences(of: "version: 1", with: "version: one"),
            good.replacingOccurrences(of: "weights: 1.0,2.0", with: "weights: 1.0,x"),
            good.replacingOccurrences(of: "weights: 1.0,2.0", with: "weights: nan,1.0"),
            good.replacingOccurrences(of: "resident_mib: 5", with: "resident_mib: -5"),
            good.replacingOccurrences(of: "model: m\n", with: ""),
            good.replacingOccurrences(of: "features: f0", with: "features: f0,f9"),
            good.replacingOccurrences(of: "features: f0", with: "features: a,a"),
        ]
        for text in broken { XCTAssertNil(ModelArtifact(decoding: Array(text.utf8)), text) }
    }
}

final class ModelStageTests: XCTestCase {
    func testTheLifeCycleAllowsExactlyItsTransitions() {
        let allowed: Set<String> = ["None>Staging", "None>Production", "None>Archived", "Staging>Production", "Staging>Archived",
                                    "Production>Archived", "Production>Production", "Staging>Staging", "Archived>Staging"]
        for from in ModelStage.allCases {
            for to in ModelStage.allCases {
                XCTAssertEqual(from.canMove(to: to), allowed.contains("\(from.rawValue)>\(to.rawValue)"), "\(from.rawValue) -> \(to.rawValue)")
            }
        }
        XCTAssertEqual(ModelStage.archived.next, [.staging], "an archived version comes back only through Staging")
        XCTAssertTrue(ModelStage.staging.canMove(to: .staging) && ModelStage.production.canMove(to: .production), "a retried move is accepted")
    }
}
