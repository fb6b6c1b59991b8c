import XCTest
import SimKernel
@testable import SimServices

/// The serving components beside the cache: the batcher, the prediction cache's keys, the
/// deployment records, the artifact's declared output, the eviction policies and the autoscaler's
/// arithmetic.
final class PredictionBatcherTests: XCTestCase {
    let key = ModelKey("m", 1)

    func testTheFirstRequestOpensABatchAndTimesItsWait() {
        var batcher = PredictionBatcher(maxSize: 4, maxWaitMillis: 10)
        let first = batcher.join(key, inputs: [1], ticket: 1)
        XCTAssertTrue(first.opened)
        XCTAssertFalse(first.filled)
        let second = batcher.join(key, inputs: [2], ticket: 2)
        XCTAssertFalse(second.opened, "the second joins the forming batch")
        XCTAssertTrue(first.batch === second.batch)
        XCTAssertEqual(second.row, 1)
    }

    func testTheRequestThatFillsTheBatchClosesItAndTheNextOpensAnother() {
        var batcher = PredictionBatcher(maxSize: 2, maxWaitMillis: 10)
        let first = batcher.join(key, inputs: [1], ticket: 1)
        let second = batcher.join(key, inputs: [2], ticket: 2)
        XCTAssertTrue(second.filled)
        XCTAssertEqual(first.batch.inputs, [[1], [2]])
        let third = batcher.join(key, inputs: [3], ticket: 3)
        XCTAssertTrue(third.opened, "a full batch no longer takes members")
        XCTAssertFalse(third.batch === first.batch)
        XCTAssertNotEqual(third.batch.id, first.batch.id)
    }

    func testVersionsBatchSeparately() {
        var batcher = PredictionBatcher(maxSize: 8, maxWaitMillis: 10)
        let a = batcher.join(ModelKey("m", 1), inputs: [1], ticket: 1)
        let b = batcher.join(ModelKey("m", 2), inputs: [1], ticket: 2)
        XCTAssertTrue(a.opened && b.opened)
        XCTAssertFalse(a.batch === b.batch)
    }

    func testABatchClosesOnceWhicheverTriggerComesFirst() {
        var batcher = PredictionBatcher(maxSize: 2, maxWaitMillis: 10)
        let first = batcher.join(key, inputs: [1], ticket: 1)
        _ = batcher.join(key, inputs: [2], ticket: 2)
        XCTAssertTrue(first.batch.close(), "filled: the filling request closes it")
        batcher.waitEnded(first.batch)
        XCTAssertFalse(first.batch.close(), "its wait ending later finds it closed")
    }

    func testWhenTheWaitEndsTheBatchStopsTakingMembers() {
        var batcher = PredictionBatcher(maxSize: 8, maxWaitMillis: 10)
        let first = batcher.join(key, inputs: [1], ticket: 1)
        batcher.waitEnded(first.batch)
        XCTAssertTrue(batcher.join(key, inputs: [2], ticket: 2).opened)
    }
}

final class PredictionCacheKeyTests: XCTestCase {
    func testTheKeyNamesTheModelTheResolvedVersionAndTheExactInputs() {
        XCTAssertEqual(PredictionCache.key(model: "m", resolved: 7, pinned: false, inputs: [1, 2.5, 3], defects: .empty), "pred:m:v7:1.0,2.5,3.0")
    }

    func testInputsWithTheSameSumHaveDistinctKeys() {
        let a = PredictionCache.key(model: "m", resolved: 1, pinned: true, inputs: [1, 2, 3], defects: .empty)
        let b = PredictionCache.key(model: "m", resolved: 1, pinned: true, inputs: [3, 2, 1], defects: .empty)
        XCTAssertNotEqual(a, b)
    }

    func testH3HashesInputsWithTheSameSumToOneKey() {
        let defects = DefectSet([.H3])
        XCTAssertEqual(PredictionCache.key(model: "m", resolved: 1, pinned: true, inputs: [1, 2, 3], defects: defects),
                       PredictionCache.key(model: "m", resolved: 1, pinned: true, inputs: [3, 2, 1], defects: defects))
    }

    func testB6LeavesTheVersionOutOfTheKey() {
        let defects = DefectSet([.B6])
        XCTAssertEqual(PredictionCache.key(model: "m", resolved: 1, pinned: true, inputs: [1], defects: defects),
                       PredictionCache.key(model: "m", resolved: 2, pinned: true, inputs: [1], defects: defects))
    }

    func testH6KeysUnpinnedRequestsByTheAliasWithoutATimeToLive() {
        let defects = DefectSet([.H6])
        XCTAssertEqual(PredictionCache.key(model: "m", resolved: 3, pinned: false, inputs: [1], defects: defects), "pred:m:production:1.0")
        XCTAssertNil(PredictionCache.timeToLive(milliseconds: 60_000, pinned: false, defects: defects))
        XCTAssertEqual(PredictionCache.timeToLive(milliseconds: 60_000, pinned: true, defects: defects), 60_000, "a pinned request keeps its TTL")
    }

    func testEveryEntryHasATimeToLiveWithoutDefects() {
        XCTAssertEqual(PredictionCache.timeToLive(milliseconds: 500, pinned: false, defects: .empty), 500)
    }
}

final class CanaryRecordTests: XCTestCase {
    private func record(_ text: String, key: String = "m") -> KafkaRecord { KafkaRecord(offset: 0, key: key, value: Array(text.utf8)) }

    func testACanaryRecordRoundTripsWithItsPercentageAndGeneration() throws {
        let deployment = Deployment(ModelKey("m", 4), stage: .staging, canaryPercent: 10, generation: 3)
        XCTAssertEqual(String(decoding: deployment.value, as: UTF8.self), "4 Canary 10 3")
        let parsed = try XCTUnwrap(Deployment(record: KafkaRecord(offset: 0, key: "m", value: deployment.value)))
        XCTAssertEqual(parsed, deployment)
    }

    func testACanaryRecordOutsideZeroToAHundredIsIgnored() {
        XCTAssertNil(Deployment(record: record("4 Canary 101 1")))
        XCTAssertNil(Deployment(record: record("4 Canary -1 1")))
        XCTAssertNil(Deployment(record: record("4 Canary 10")), "a canary record carries its generation")
    }

    func testAStageRecordHasNoCanaryShare() throws {
        let parsed = try XCTUnwrap(Deployment(record: record("9 Production")))
        XCTAssertNil(parsed.canaryPercent)
        XCTAssertEqual(parsed.stage, .production)
    }
}

final class ModelArtifactOutputTests: XCTestCase {
    func testADeclaredLabelOutputRoundTrips() throws {
        let artifact = ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [1, 2], output: .label)
        XCTAssertEqual(try XCTUnwrap(ModelArtifact(decoding: artifact.encoded)).output, .label)
    }

    func testAnArtifactWithoutAnOutputLineAnswersAProbability() throws {
        let artifact = ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [1, 2])
        XCTAssertFalse(String(decoding: artifact.encoded, as: UTF8.self).contains("output:"))
        XCTAssertEqual(try XCTUnwrap(ModelArtifact(decoding: artifact.encoded)).output, .probability)
    }

    func testAnUnknownOutputIsRefused() {
        let text = "synapsenet-model 1\nmodel: m\nversion: 1\nresident_mib: 1\nweights: 1,2\noutput: histogram\n"
        XCTAssertNil(ModelArtifact(decoding: Array(text.utf8)))
    }

    func testTheLabelIsAnIntegerThatAgreesWithTheProbability() {
        let labelled = ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [1, 2], output: .label)
        XCTAssertEqual(InferenceService.label(0.73, of: labelled, defects: .empty), "1")
        XCTAssertEqual(InferenceService.label(0.49, of: labelled, defects: .empty), "0")
        XCTAssertEqual(InferenceService.label(0.5, of: labelled, defects: .empty), "1", "0.5 is positive")
    }

    func testB8FormatsTheLabelAsAFloat() {
        let labelled = ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [1, 2], output: .label)
        XCTAssertEqual(InferenceService.label(0.73, of: labelled, defects: DefectSet([.B8])), "1.0")
    }

    func testAProbabilityVersionAnswersNoLabel() {
        XCTAssertNil(InferenceService.label(0.73, of: ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [1, 2]), defects: .empty))
    }
}

final class EvictionPolicyTests: XCTestCase {
    private func artifact(_ version: Int64) -> ModelArtifact { ModelArtifact(model: "m", version: version, residentMiB: 1, weights: [1, 2]) }

    /// The hot version (loaded first, used all the time) survives LRU and is evicted by first in, first out.
    func testH8EvictsTheHotVersionOnceItIsTheOldestLoaded() {
        for (eviction, expected) in [(ModelCache.Eviction.leastRecentlyUsed, Int64(2)), (.oldestLoaded, 1)] {
            var cache = ModelCache(capacity: 2)
            cache.eviction = eviction
            _ = cache.insert(artifact(1))
            _ = cache.insert(artifact(2))
            XCTAssertTrue(cache.pin(ModelKey("m", 1)))
            _ = cache.unpin(ModelKey("m", 1))
            XCTAssertEqual(cache.insert(artifact(3)).map(\.artifact.version), [expected], "\(eviction)")
        }
    }

    func testH8StillSparesAVersionInUse() {
        var cache = ModelCache(capacity: 1)
        cache.eviction = .oldestLoaded
        _ = cache.insert(artifact(1))
        XCTAssertTrue(cache.pin(ModelKey("m", 1)))
        XCTAssertTrue(cache.insert(artifact(2)).isEmpty, "first in, first out, but never a pinned version")
    }

    func testReplacePutsOtherWeightsUnderTheSameVersion() {
        var cache = ModelCache(capacity: 2)
        _ = cache.insert(artifact(1))
        var other = ModelArtifact(model: "m", version: 1, residentMiB: 1, weights: [9, 9])
        other.version = 1
        XCTAssertEqual(cache.replace(ModelKey("m", 1), with: other)?.weights, [1, 2])
        XCTAssertEqual(cache.artifact(ModelKey("m", 1))?.weights, [9, 9])
        XCTAssertNil(cache.replace(ModelKey("m", 5), with: other), "not loaded: nothing replaced")
    }
}

final class AutoscalerTests: XCTestCase {
    func testDesiredReplicasRoundUpTheRateOverTheTarget() {
        XCTAssertEqual(Autoscaler.desired(total: 41, target: 20, instances: 5), 3)
        XCTAssertEqual(Autoscaler.desired(total: 40, target: 20, instances: 5), 2)
    }

    func testDesiredReplicasStayBetweenOneAndThePassingInstances() {
        XCTAssertEqual(Autoscaler.desired(total: 0, target: 20, instances: 3), 1)
        XCTAssertEqual(Autoscaler.desired(total: 1000, target: 20, instances: 3), 3)
    }

    func testASampleParsesItsSequenceCountAndTime() throws {
        let sample = try XCTUnwrap(Autoscaler.Sample(instance: "inference-1", text: "4 17 1500000000"))
        XCTAssertEqual(sample.sequence, 4)
        XCTAssertEqual(sample.count, 17)
        XCTAssertEqual(sample.time, 1_500_000_000)
        XCTAssertNil(Autoscaler.Sample(instance: "inference-1", text: "4 17"))
    }
}
