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
    /// What a probe on the client node read back at 35 s of a fault-free cold start (seed 7):
    /// SQL query results by name, HTTP answers by name, objects and Redis values.
    struct Probe {
        var rows: [String: [[SQLValue]]] = [:]
        var answers: [String: HTTPResponse] = [:]
        var objects: [String: [UInt8]] = [:]
        var redis: [String: String] = [:]
    }
    static var healthy: (Outcome, Simulation, Probe)?

    /// The healthy run, kept going to 40 s (instead of ending when every service answered) so
    /// that the probe can read each service's durable effects and ask a few more questions.
    static func healthyRun() -> (Outcome, Simulation, Probe) {
        if let healthy { return healthy }
        var faults = Cold00.scenario.faultOptions(seed: 7, profile: FaultProfile.none)
        faults.healAtMs = 40_000
        let configuration = RunConfiguration(scenario: Cold00.scenario, seed: 7, defects: .empty, faults: faults)
        let simulation = Simulation(seed: 7, options: ScenarioRunner.options(for: configuration))
        let built = ScenarioRunner.build(simulation, configuration)
        let directory = built.platform.directory
        var probe = Probe()
        built.platform.node("client")!.addProcess("probe") { context in
            await context.sleep(for: .seconds(35))
            func query(_ name: String, _ database: String, _ sql: String) async {
                let client = SQLClient(address: directory.databases[database]!)
                if case .success(let results) = await client.transaction([SQLStatement(sql)], context: context) { probe.rows[name] = results[0].rows }
            }
            // The operator's token: the gateway refuses every request but a login's without one.
            let token = await context.token(directory.services["gateway"]!, user: "ops-admin")
            func ask(_ name: String, _ request: HTTPRequest) async {
                var request = request
                if !GatewayService.publicRoutes.contains("\(request.method) \(request.path)") { request.headers["authorization"] = token }
                if case .success(let envelope) = await context.call(directory.services["gateway"]!, HTTPMessage.request(request), timeout: 3 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage { probe.answers[name] = response }
            }
            await query("users", "users_db", "SELECT name, key_hash FROM users")
            await query("models", "models_db", "SELECT tenant, name FROM models")
            await query("versions", "models_db", "SELECT model, version FROM model_versions")
            await query("jobs", "experiments_db", "SELECT name, state FROM training_jobs")
            await query("dags", "experiments_db", "SELECT name FROM dags")
            await query("params", "experiments_db", "SELECT key, value FROM params")
            await query("drift", "metrics_db", "SELECT feature, psi FROM drift_reports")
            await query("schedules", "experiments_db", "SELECT name, cron, timezone FROM schedules")
            await query("tasks", "metrics_db", "SELECT task FROM task_effects")
            await query("endpoints", "users_db", "SELECT url, secret FROM endpoints")
            await query("tenants", "users_db", "SELECT name, quota, used FROM tenants")
            let store = ObjectStoreClient(server: directory.objectStore)
            for (bucket, key) in [("models", "t1/resnet/1"), ("artifacts", "t1/datasets/iris.csv")] {
                if case .success(.object(let bytes, _)) = await store.request(.get(bucket: bucket, key: key), context: context) { probe.objects["\(bucket)/\(key)"] = bytes }
            }
            let redis = RedisClient(server: directory.redis)
            for key in ["online:default:t1:user-1", "feature:t1:user-1:version"] {
                if case .success(.string(let value)) = await redis.run(.get(key), context: context) { probe.redis[key] = value }
            }
            await ask("token", HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"]))
            await ask("wrong-key", HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "guess"]))
            await ask("verify", HTTPRequest("POST", "auth/verify", body: ["token": probe.answers["token"]?.body["token"] ?? ""]))
            await ask("predict", FirstRequestsWorkload.firstRequest("inference"))
            await ask("cycle", HTTPRequest("POST", "pipeline/dags", body: ["name": "loop", "edges": "a>b,b>c,c>a"]))
            await ask("private-hook", HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://127.0.0.1/hook"]))
            await ask("over-quota", HTTPRequest("POST", "admin/tenants", body: ["tenant": "t1", "quota": "100", "reserve": "95"], origin: "https://admin.synapsenet.local"))
            await ask("bad-cron", HTTPRequest("POST", "scheduler/schedules", body: ["name": "bad", "cron": "every day"]))
        }
        var outcome = simulation.run()
        if outcome == .passed, let coldStart = built.checkers.first(where: { $0 is ColdStartChecker }), coldStart.converged(simulation) == false {
            outcome = .livenessTimeout(check: "cold-start", message: coldStart.livenessMessage(simulation), at: simulation.now)
        }
        healthy = (outcome, simulation, probe)
        return healthy!
    }

    /// Each service started (configuration, dependencies, migrations, topics, buckets, mappings),
    /// registered under its name with a health check, and answered its first request through the
    /// gateway.
    private func assertServiceCameUp(_ service: String, file: StaticString = #filePath, line: UInt = #line) {
        let (outcome, simulation, _) = Self.healthyRun()
        XCTAssertEqual(outcome, .passed, file: file, line: line)
        let state = simulation.platformObservations.services[service]
        XCTAssertEqual(state?.ready, true, "\(service) ready", file: file, line: line)
        XCTAssertEqual(state?.registeredName, service, file: file, line: line)
        XCTAssertEqual(state?.registeredWithCheck, true, file: file, line: line)
        XCTAssertEqual(state?.registeredBeforeReady, false, file: file, line: line)
        XCTAssertNotNil(simulation.platformObservations.firstRequestSucceeded[service], "\(service) answered its first request", file: file, line: line)
    }

    private var probe: Probe { Self.healthyRun().2 }

    func testGatewayStartsAndRoutes() {
        assertServiceCameUp("gateway")
        let routed = Set(Self.healthyRun().1.platformObservations.routings.map(\.service))
        XCTAssertEqual(routed, Set(Topology.services.filter { $0 != "gateway" }))
    }
    func testAuthStartsAndIssuesATokenFromUsersDB() {
        assertServiceCameUp("auth")
        let alice = probe.rows["users"]?.first { $0.first?.text == "alice" }
        XCTAssertEqual(alice?[1].text, SHA256.hex(SHA256.hash(Array("k-alice".utf8))), "the key is stored hashed, never in the clear")
        XCTAssertEqual(probe.answers["token"]?.status, 200)
        XCTAssertEqual(probe.answers["wrong-key"]?.status, 401, "a wrong key gets no token")
        XCTAssertEqual(probe.answers["verify"]?.body["user"], "alice", "the issued token verifies")
    }
    func testModelsStartsAndCreatesAModelRow() {
        assertServiceCameUp("models")
        XCTAssertEqual(probe.rows["models"]?.compactMap { $0.last?.text }, ["resnet"], "one row, created once however often the request came")
    }
    func testRegistryStartsAndRegistersAVersion() {
        assertServiceCameUp("registry")
        XCTAssertEqual(probe.rows["versions"]?.map { [$0[0].text ?? "", "\($0[1].integer ?? 0)"] }, [["t1/resnet", "1"]])
        XCTAssertNotNil(probe.objects["models/t1/resnet/1"], "the version's artifact is in the models bucket")
    }
    func testTrainingStartsAndPublishesAJob() {
        assertServiceCameUp("training")
        XCTAssertEqual(probe.rows["jobs"]?.map { $0[0].text ?? "" }, ["resnet-finetune"])
        let kafka = Self.healthyRun().1.node(named: "kafka")!.disk
        let bytes = kafka.list(prefix: "kafka/training.jobs-").reduce(0) { $0 + ((try? kafka.size($1)) ?? 0) }
        XCTAssertGreaterThan(bytes, 0, "the job is on the training.jobs topic")
    }
    func testInferenceStartsOnTheCPUAndPredicts() {
        assertServiceCameUp("inference")
        XCTAssertEqual(probe.answers["predict"]?.body["device"], "cpu", "no accelerator on the node: CPU fallback")
        let p = Double(probe.answers["predict"]?.body["p"] ?? "") ?? -1
        XCTAssertTrue(p > 0 && p < 1, "a probability: \(p)")
    }
    func testFeaturesStartsAndServesFromRedis() {
        assertServiceCameUp("features")
        let stored = probe.redis["online:default:t1:user-1"].flatMap(OnlineStore.Entry.decode)
        XCTAssertEqual(stored?.values.first?.1, "0.5")
        XCTAssertEqual(stored?.version, Int64(probe.redis["feature:t1:user-1:version"] ?? ""), "the value carries the version it was written under")
    }
    func testPipelineStartsAndStoresAnAcyclicDAG() {
        assertServiceCameUp("pipeline")
        XCTAssertEqual(probe.rows["dags"]?.map { $0[0].text ?? "" }, ["etl"])
        XCTAssertEqual(probe.answers["cycle"]?.status, 422, "a cyclic DAG is refused")
    }
    func testExperimentsStartsAndKeepsParamsWriteOnce() {
        assertServiceCameUp("experiments")
        XCTAssertEqual(Set(probe.rows["params"]?.map { $0[1].text ?? "" } ?? []), ["0.1"], "the second write (9) never landed")
    }
    func testMonitoringStartsAndStoresADriftReport() {
        assertServiceCameUp("monitoring")
        let report = probe.rows["drift"]?.first
        XCTAssertEqual(report?[0].text, "age")
        if case .real(let psi) = report?[1] { XCTAssertGreaterThan(psi, 0, "the shifted sample has a PSI above 0") } else { XCTFail("no PSI stored: \(String(describing: report))") }
    }
    func testSchedulerStartsAsLeaderAndStoresASchedule() {
        assertServiceCameUp("scheduler")
        XCTAssertEqual(probe.rows["schedules"]?.first.map { $0.map { $0.text ?? "" } }, ["nightly", "0 2 * * *", "Europe/Paris"])
        XCTAssertEqual(probe.answers["bad-cron"]?.status, 400, "the leader validates the cron expression")
    }
    func testWorkersStartAndProcessATaskOnce() {
        assertServiceCameUp("workers")
        XCTAssertEqual(probe.rows["tasks"]?.map { $0[0].text ?? "" }, ["task-1"], "applied exactly once")
    }
    func testStorageStartsAndRoundTripsAnArtifact() {
        assertServiceCameUp("storage")
        XCTAssertEqual(probe.objects["artifacts/t1/datasets/iris.csv"], Array("5.1,3.5,1.4,0.2".utf8))
    }
    func testWebhooksStartsAndSignsAPayload() {
        assertServiceCameUp("webhooks")
        XCTAssertEqual(probe.rows["endpoints"]?.map { $0[0].text ?? "" }, ["https://hooks.example.com/synapsenet"])
        XCTAssertFalse((probe.rows["endpoints"]?.first?[1].text ?? "").isEmpty, "the endpoint has a signing secret")
        XCTAssertEqual(probe.answers["private-hook"]?.status, 400, "a loopback target is refused")
    }
    func testAdminStartsAndReservesQuota() {
        assertServiceCameUp("admin")
        XCTAssertEqual(probe.rows["tenants"]?.first.map { $0.map { $0.integer ?? -1 } }, [-1, 100, 10], "tenant t1: quota 100, 10 reserved")
        XCTAssertEqual(probe.answers["over-quota"]?.status, 429, "a reservation beyond the quota is refused")
    }

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
        let built = ScenarioRunner.build(simulation, configuration)
        var versionAfterRestart: String?
        built.platform.node("client")!.addProcess("probe") { context in
            await context.sleep(for: .seconds(25))  // after the restart
            let token = await context.token(built.platform.directory.services["gateway"]!, user: "ops-admin")
            let request = HTTPRequest("POST", "registry/versions", body: ["model": "resnet"], headers: ["authorization": token])
            if case .success(let envelope) = await context.call(built.platform.directory.services["gateway"]!, HTTPMessage.request(request), timeout: 3 * Nanos.second),
               case .response(let response) = envelope.payload as? HTTPMessage { versionAfterRestart = response.body["version"] }
        }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(versionAfterRestart, "2", "version 1 (registered before the crash) is still in models_db: the next is 2")
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
