import Foundation
import XCTest
@testable import Chaos
@testable import SimKernel
@testable import SimServices

/// Scenario 00: the whole platform's cold start, its services' first requests, and L1-L15.
enum Cold00 {
    static let scenario: Scenario = {
        try! ScenarioLoader.load(nameOrPath: Chaos05.packageRoot.appendingPathComponent("Scenarios/00_cold_start.yaml").path)
    }()

    /// Runs scenario 00 and keeps the simulation for its observations.
    static func run(seed: UInt64, defects: [DefectID] = [], profile: FaultProfile? = nil) -> (Outcome, Simulation) {
        let configuration = RunConfiguration(scenario: scenario, seed: seed, defects: DefectSet(defects), faults: scenario.faultOptions(seed: seed, profile: profile))
        let simulation = Simulation(seed: seed, options: ScenarioRunner.options(for: configuration))
        let built = ScenarioRunner.build(simulation, configuration)
        var outcome = simulation.run()
        if outcome == .passed, let coldStart = built.checkers.first(where: { $0 is ColdStartChecker }), coldStart.converged(simulation) == false {
            outcome = .livenessTimeout(check: "cold-start", message: coldStart.livenessMessage(simulation), at: simulation.now)
        }
        return (outcome, simulation)
    }
}

final class ColdStartTests: XCTestCase {
    static var healthy: (Outcome, Simulation)?
    static func healthyRun() -> (Outcome, Simulation) {
        if healthy == nil { healthy = Cold00.run(seed: 7, profile: FaultProfile.none) }
        return healthy!
    }

    /// Each service started (configuration, dependencies, migrations, topics, buckets, mappings),
    /// registered under its name with a health check, and answered its first request through the
    /// gateway, which touches its own state.
    private func assertServiceCameUp(_ service: String, file: StaticString = #filePath, line: UInt = #line) {
        let (outcome, simulation) = Self.healthyRun()
        XCTAssertEqual(outcome, .passed, file: file, line: line)
        let state = simulation.platformObservations.services[service]
        XCTAssertEqual(state?.ready, true, "\(service) ready", file: file, line: line)
        XCTAssertEqual(state?.registeredName, service, file: file, line: line)
        XCTAssertEqual(state?.registeredWithCheck, true, file: file, line: line)
        XCTAssertEqual(state?.registeredBeforeReady, false, file: file, line: line)
        XCTAssertNotNil(simulation.platformObservations.firstRequestSucceeded[service], "\(service) answered its first request", file: file, line: line)
    }

    func testGatewayStartsAndRoutes() {
        assertServiceCameUp("gateway")
        let routed = Set(Self.healthyRun().1.platformObservations.routings.map(\.service))
        XCTAssertEqual(routed, Set(Topology.services.filter { $0 != "gateway" }))
    }
    func testAuthStartsAndIssuesATokenFromUsersDB() {
        assertServiceCameUp("auth")
        XCTAssertTrue(Self.healthyRun().1.node(named: "users-db")!.disk.exists("users_db.db"))
    }
    func testModelsStartsAndCreatesAModelRow() { assertServiceCameUp("models") }
    func testRegistryStartsAndRegistersAVersion() {
        assertServiceCameUp("registry")
        XCTAssertTrue(Self.healthyRun().1.node(named: "minio")!.disk.exists("buckets/models/o/resnet/1"))
    }
    func testTrainingStartsAndPublishesAJob() {
        assertServiceCameUp("training")
        let kafka = Self.healthyRun().1.node(named: "kafka")!.disk
        let logs = kafka.list(prefix: "kafka/training.jobs-")
        let bytes = logs.reduce(0) { $0 + ((try? kafka.size($1)) ?? 0) }
        XCTAssertGreaterThan(bytes, 0, "training.jobs logs: \(logs), kafka files: \(kafka.list(prefix: ""))")
    }
    func testInferenceStartsOnTheCPUAndPredicts() { assertServiceCameUp("inference") }
    func testFeaturesStartsAndServesFromRedis() { assertServiceCameUp("features") }
    func testPipelineStartsAndStoresAnAcyclicDAG() { assertServiceCameUp("pipeline") }
    func testExperimentsStartsAndKeepsParamsWriteOnce() { assertServiceCameUp("experiments") }
    func testMonitoringStartsAndStoresADriftReport() { assertServiceCameUp("monitoring") }
    func testSchedulerStartsAsLeaderAndStoresASchedule() { assertServiceCameUp("scheduler") }
    func testWorkersStartAndProcessATaskOnce() { assertServiceCameUp("workers") }
    func testStorageStartsAndRoundTripsAnArtifact() { assertServiceCameUp("storage") }
    func testWebhooksStartsAndSignsAPayload() { assertServiceCameUp("webhooks") }
    func testAdminStartsAndReservesQuota() { assertServiceCameUp("admin") }

    func testColdStartPassesUnderTheLiteProfileOnEverySeedTried() {
        // 1,200 seeds were explored before this was written down (see the issue's note); 12 here.
        for seed in UInt64(1) ... 12 {
            let (outcome, _) = Cold00.run(seed: seed)
            XCTAssertEqual(outcome, .passed, "seed \(seed): \(outcome)")
        }
    }

    func testARestartedServiceRebuildsFromDurableStateAndReRegisters() {
        var scenario = Cold00.scenario
        scenario.explicitCrashes = [CrashFault(node: "registry", atMs: 20_000, restartAfterMs: 1000)]
        let configuration = RunConfiguration(scenario: scenario, seed: 3, defects: .empty, faults: scenario.faultOptions(seed: 3, profile: FaultProfile.none))
        let simulation = Simulation(seed: 3, options: ScenarioRunner.options(for: configuration))
        ScenarioRunner.build(simulation, configuration)
        XCTAssertEqual(simulation.run(), .passed)
        let state = simulation.platformObservations.services["registry"]
        XCTAssertEqual(state?.startupAttempts, 2, "one start-up per incarnation: no failed attempt")
        XCTAssertGreaterThan(state?.registeredAt ?? 0, 21 * Nanos.second, "re-registered after the restart")
        XCTAssertEqual(simulation.node(named: "registry")?.crashCount, 1)
    }

    func testColdStartIsDeterministic() {
        let configuration = RunConfiguration(scenario: Cold00.scenario, seed: 5, defects: .empty)
        let report = DeterminismCheck.run(seed: 5, options: ScenarioRunner.options(for: configuration)) { ScenarioRunner.build($0, configuration) }
        XCTAssertTrue(report.isDeterministic, report.description)
    }

    /// Each setup defect is found within a stated number of seeds (measured first failures: L1-L13
    /// at seed 1; L14 and L15 fail only when the dependency starts later, measured 7 and 4 of 8
    /// seeds), by the checker its catalogue entry names.
    private func assertFound(_ defect: DefectID, within seeds: UInt64, messageContains phrase: String) {
        let entry = DefectCatalogue.entry(defect)
        for seed in UInt64(1) ... seeds {
            let (outcome, _) = Cold00.run(seed: seed, defects: [defect])
            guard outcome.isFailure else { continue }
            XCTAssertEqual(outcome.checker, entry.checker, "\(defect) seed \(seed): \(outcome)")
            XCTAssertTrue(outcome.message.contains(phrase), "\(defect) seed \(seed): \(outcome.message)")
            return
        }
        XCTFail("\(defect) not found within \(seeds) seeds")
    }

    func testL1CircularStartupDependency() { assertFound(.L1, within: 3, messageContains: "start-up deadlock: models waits for registry waits for models") }
    func testL2MissingAcceleratorCrashesStartup() { assertFound(.L2, within: 3, messageContains: "no accelerator") }
    func testL3MigrationOrder() { assertFound(.L3, within: 3, messageContains: "migration 1 failed") }
    func testL4TopicsNotCreated() { assertFound(.L4, within: 3, messageContains: "UNKNOWN_TOPIC_OR_PARTITION") }
    func testL5ServesBeforeReady() { assertFound(.L5, within: 3, messageContains: "before it was ready") }
    func testL6WrongRegistration() { assertFound(.L6, within: 3, messageContains: "without a health check") }
    func testL7RedisClusterMode() { assertFound(.L7, within: 3, messageContains: "cluster support disabled") }
    func testL8MissingIndexMapping() { assertFound(.L8, within: 3, messageContains: "index_not_found_exception") }
    func testL9SilentBucketFailure() { assertFound(.L9, within: 3, messageContains: "inference") }
    func testL10BrokerProtocol() { assertFound(.L10, within: 3, messageContains: "wrong protocol") }
    func testL11CORS() { assertFound(.L11, within: 3, messageContains: "CORS") }
    func testL12LoggingHandler() { assertFound(.L12, within: 3, messageContains: "rotating_file_handler_v2") }
    func testL13SchemaValidationLoop() { assertFound(.L13, within: 3, messageContains: "pipeline") }
    func testL14FeatureBootstrapNeedsTraining() { assertFound(.L14, within: 10, messageContains: "not bootstrapped") }
    func testL15WorkerRegistrationNeedsScheduler() { assertFound(.L15, within: 10, messageContains: "workers") }
}

/// Every seed file of scenario 00 in Seeds/ replays with its recorded outcome and fingerprint.
final class ColdStartReplayTests: XCTestCase {
    func testEverySetupDefectHasASeedFileThatReplays() throws {
        let folder = Chaos05.packageRoot.appendingPathComponent("Seeds")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("00_cold_start-") }.sorted()
        let covered = Set(files.compactMap { name in DefectID.allCases.first { name.contains("-\($0.rawValue)-") } })
        XCTAssertEqual(covered, Set(DefectID.allCases.filter { $0.rawValue.hasPrefix("L") }))
        for name in files {
            let file = try SeedFile.load(path: folder.appendingPathComponent(name).path)
            XCTAssertEqual(file.scenarioDigest, hex64(Cold00.scenario.digest), name)
            let verdict = Replay.run(file, scenario: Cold00.scenario)
            XCTAssertTrue(verdict.matches, "\(name): \(verdict.differences)")
        }
    }
}
