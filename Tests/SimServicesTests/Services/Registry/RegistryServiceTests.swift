import XCTest
@testable import SimKernel
@testable import SimServices

final class RegistryServiceTests: XCTestCase {
    /// Versions count up per model; a trained artifact registered twice (a retry) is one version;
    /// an artifact that does not match its checksum is refused.
    func testVersionsCountUpAndARetriedArtifactIsOneVersion() {
        let artifact = Checkpoint(step: 1, workerClocks: [1], parameters: [0.5, -0.5]).encoded()
        let trained = HTTPRequest("POST", "registry/versions", body: ["model": "m", "artifact": hexBytes(artifact), "checksum": hexString(crc32(artifact))])
        let outcome = ServiceHarness.run("registry", [
            HTTPRequest("POST", "registry/versions", body: ["model": "m"]), trained, trained,
            HTTPRequest("POST", "registry/versions", body: ["model": "m", "artifact": hexBytes(artifact), "checksum": "00000000"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.body["version"] }, ["1", "2", "2", nil])
        XCTAssertEqual(outcome.responses[3]?.status, 400)
        XCTAssertEqual(RegistryService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsAGapInTheVersions() {
        let outcome = ServiceHarness.run("registry", [HTTPRequest("POST", "registry/versions", body: ["model": "m"])])
        ServiceHarness.write(outcome, "models_db", "UPDATE model_versions SET version = 3")
        XCTAssertTrue(RegistryService.invariants(outcome.view).contains("registry: t1/m has versions [3], not 1...1"), "\(RegistryService.invariants(outcome.view))")
    }

    func testTheInvariantFindsAnArtifactThatDoesNotMatchItsRecordedChecksum() {
        let outcome = ServiceHarness.run("registry", [HTTPRequest("POST", "registry/versions", body: ["model": "m"])])
        ServiceHarness.write(outcome, "models_db", "UPDATE model_versions SET checksum = '00000000'")
        XCTAssertEqual(RegistryService.invariants(outcome.view).count, 1)
        XCTAssertTrue(RegistryService.invariants(outcome.view)[0].hasSuffix("recorded 00000000"))
    }
}

/// The model life cycle through `POST registry/stages`.
final class RegistryStageTests: XCTestCase {
    static func stage(_ version: Int, _ stage: String, model: String = "m") -> HTTPRequest {
        HTTPRequest("POST", "registry/stages", body: ["model": model, "version": "\(version)", "stage": stage])
    }
    static let register = HTTPRequest("POST", "registry/versions", body: ["model": "m"])

    func testPromotingAVersionArchivesThePreviousProductionVersion() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.register, Self.stage(1, "Production"), Self.stage(2, "Staging"), Self.stage(2, "Production")])
        XCTAssertEqual(outcome.responses.suffix(3).map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses[2]?.body["archived"], nil, "nothing was in Production before v1")
        XCTAssertEqual(outcome.responses[4]?.body["archived"], "1")
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT version, stage FROM model_versions ORDER BY version")?.map { $0.map(\.plain) },
                       [["1", "Archived"], ["2", "Production"]])
        XCTAssertEqual(RegistryService.invariants(outcome.view), [])
    }

    func testTransitionsTheLifeCycleForbidsAreRefused() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.stage(1, "Archived"), Self.stage(1, "Production"), Self.stage(1, "Live"), Self.stage(9, "Staging")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 409, 400, 404])
        XCTAssertEqual(outcome.responses[2]?.body["error"], "t1/m v1 is Archived: it can move to Staging, not Production")
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT stage FROM model_versions")?.map { $0.map(\.plain) }, [["Archived"]], "a refused move changes nothing")
    }

    func testARepeatedPromotionIsAcceptedAndPublishedAgain() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.stage(1, "Production"), Self.stage(1, "Production")])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        // The topic's partition logs on the broker's disk: one record per promotion, keyed by the model.
        let kafka = outcome.simulation.node(named: "kafka")!
        let records = kafka.disk.list(prefix: "kafka/").filter { $0.contains(InferenceService.deploymentsTopic) }
            .flatMap { RecordLog.decodeAll((try? kafka.disk.readAll($0)) ?? []) }.map { Fields.split($0).map { String(decoding: $0, as: UTF8.self) } }
        XCTAssertEqual(records.map { Array($0.dropFirst()) }, [["t1/m", "1 Production"], ["t1/m", "1 Production"]], "both promotions of v1 were published, with their stage")
    }

    func testTheInvariantFindsTwoProductionVersionsOfAModel() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.register])
        ServiceHarness.write(outcome, "models_db", "UPDATE model_versions SET stage = 'Production'")
        XCTAssertTrue(RegistryService.invariants(outcome.view).contains("registry: t1/m has 2 Production versions [1, 2]"), "\(RegistryService.invariants(outcome.view))")
    }
}

/// Canary rollouts through `POST registry/canary` and `registry/canary/rollback`: the row the
/// registry keeps, and which changes it refuses.
final class RegistryCanaryTests: XCTestCase {
    static func start(_ version: Int, _ percent: Int) -> HTTPRequest {
        HTTPRequest("POST", "registry/canary", body: ["model": "m", "version": "\(version)", "percent": "\(percent)", "start": "true"])
    }
    static func step(_ version: Int, _ percent: Int) -> HTTPRequest {
        HTTPRequest("POST", "registry/canary", body: ["model": "m", "version": "\(version)", "percent": "\(percent)"])
    }
    static let rollback = HTTPRequest("POST", "registry/canary/rollback", body: ["model": "m"])
    static let register = RegistryStageTests.register

    func row(_ outcome: ServiceHarness.Outcome) -> [String]? {
        outcome.view.rows("models_db", "SELECT version, percent, state, generation FROM canaries WHERE model = 't1/m'")?.first?.map(\.plain)
    }

    func testAStartMakesTheVersionTheCanaryAndAStepChangesItsShare() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.start(1, 10), Self.step(1, 50)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(row(outcome), ["1", "50", "active", "2"])
    }

    func testAStepAfterTheRollbackIsRefusedAndChangesNothing() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.start(1, 10), Self.rollback, Self.step(1, 50)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 409])
        XCTAssertEqual(row(outcome), ["1", "0", "rolled_back", "2"])
    }

    func testALateStartOfARolledBackCanaryIsRefused() {
        // A start delivered again after the rollback (a duplicate, or a retry) must not resurrect it.
        let outcome = ServiceHarness.run("registry", [Self.register, Self.start(1, 10), Self.rollback, Self.start(1, 10)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 409])
        XCTAssertEqual(row(outcome), ["1", "0", "rolled_back", "2"])
    }

    func testARepeatedStartOfTheActiveCanaryChangesNothing() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.start(1, 10), Self.step(1, 50), Self.start(1, 10)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200])
        XCTAssertEqual(outcome.responses[3]?.body["percent"], "50", "it answers the canary as it is")
        XCTAssertEqual(row(outcome), ["1", "50", "active", "2"])
    }

    func testAStartOfAnotherVersionReplacesTheCanary() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.register, Self.start(1, 10), Self.rollback, Self.start(2, 20)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200])
        XCTAssertEqual(row(outcome), ["2", "20", "active", "3"])
    }

    func testALateStartOfAnOlderVersionAfterTheNextOnesStartIsRefused() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.register, Self.start(1, 10), Self.rollback, Self.start(2, 10), Self.start(1, 10)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200, 200, 409])
        XCTAssertEqual(row(outcome), ["2", "10", "active", "3"])
    }

    func testPromotingTheCanaryEndsIt() {
        let outcome = ServiceHarness.run("registry", [Self.register, Self.start(1, 10), RegistryStageTests.stage(1, "Production"), Self.step(1, 50)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 409])
        XCTAssertEqual(row(outcome), ["1", "0", "promoted", "2"])
    }

    func testB4AStepAfterTheRollbackBringsTheCanaryBack() {
        let outcome = ServiceHarness.run("registry", defects: DefectSet([.B4]), [Self.register, Self.start(1, 10), Self.rollback, Self.step(1, 50)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200])
        XCTAssertEqual(row(outcome), ["1", "50", "active", "3"], "the upsert wrote the rolled-back canary back")
    }
}
