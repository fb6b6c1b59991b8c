import XCTest
@testable import SimKernel
@testable import SimServices

final class TrainingServiceTests: XCTestCase {
    /// A job without a spec is stored once per name (a resubmission is the same job, here the
    /// platform's own); a job with a spec needs a caller: sent with no identity it is refused.
    func testAResubmittedJobIsOneJobAndASpecNeedsACaller() {
        let spec = TrainingService.encode(TrainingJobSpec())
        let outcome = ServiceHarness.run("training", [
            HTTPRequest("POST", "training/jobs", body: ["job": "probe"]), HTTPRequest("POST", "training/jobs", body: ["job": "probe"]),
            ServiceHarness.bare(HTTPRequest("POST", "training/jobs", body: ["job": "job-1", "spec": spec])),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 401])
        XCTAssertEqual(outcome.responses[2]?.body["error"], "refused: no identity on a call past the gateway")
        XCTAssertEqual(outcome.responses[0]?.body["job_id"], outcome.responses[1]?.body["job_id"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT COUNT(*) FROM training_jobs")?.first?.first?.integer, 1)
        XCTAssertEqual(TrainingService.invariants(outcome.view), [])
    }

    func testTheInvariantFindsACompletedJobWithoutItsResult() {
        let outcome = ServiceHarness.run("training", [HTTPRequest("POST", "training/jobs", body: ["job": "probe"])])
        ServiceHarness.write(outcome, "experiments_db", "UPDATE training_jobs SET state = 'completed'")
        XCTAssertEqual(TrainingService.invariants(outcome.view), ["training: completed job probe has no result"])
    }
}

/// A training run's experiment run is created on the submitter's behalf: it belongs to the
/// submitter's tenant, which reads it, and another tenant's caller is answered as if it did not
/// exist.
final class TrainingRunTenancyTests: XCTestCase {
    static let rows = "1.5,-2.0,1.0\n0.25,3.0,0.0\n"
    static let t1 = ["x-user": "ml-engineer", "x-tenant": "t1", "x-role": "scientist"]
    static let t2 = ["x-user": "bob", "x-tenant": "t2", "x-role": "scientist"]

    func testATrainingRunBelongsToItsSubmittersTenant() {
        let digest = SHA256.hex(SHA256.hash(Array(Self.rows.utf8)))
        let submit = TrainingRuns.Submit(name: "run-of-t2", experiment: "ctr", seed: 42, dataset: digest, code: "abc123", epochs: 2, batchSize: 8,
                                         lr: 0.1, hidden: 4, dropout: 0, restartPeriod: 2, restartGrowth: 2)
        let outcome = ServiceHarness.run("training", [
            ServiceHarness.to("experiments", HTTPRequest("PUT", "experiments/datasets", body: ["name": "clicks", "rows": Self.rows], headers: Self.t2)),
            HTTPRequest("POST", "training/runs", body: FormEncoder.encode(submit), headers: Self.t2),
            ServiceHarness.to("experiments", HTTPRequest("GET", "experiments/runs", body: ["run": "1"], headers: Self.t2)),
            ServiceHarness.to("experiments", HTTPRequest("GET", "experiments/runs", body: ["run": "1"], headers: Self.t1)),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 404], "\(outcome.responses.map { $0?.body ?? [:] })")
        XCTAssertEqual(outcome.responses[1]?.body["run"], "1")
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT tenant FROM runs WHERE id = 1")?.first?.first?.text, "t2")
    }
}

/// A training job belongs to its submitter's tenant, and so do the run and the model version its
/// completion creates (the platform names that tenant when it creates them).
final class TrainingJobTenancyTests: XCTestCase {
    /// A job's name is its tenant's: t1's engineer and bob of t2 each submit `job-1` and get two
    /// jobs (neither learns of the other, nothing is refused); the engineer's resubmission is his
    /// first job again.
    func testTwoTenantsJobsOfOneNameAreTwoJobs() {
        let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
        let outcome = ServiceHarness.run("training", [
            HTTPRequest("POST", "training/jobs", body: ["job": "job-1"], headers: engineer),
            HTTPRequest("POST", "training/jobs", body: ["job": "job-1"], headers: bob),
            HTTPRequest("POST", "training/jobs", body: ["job": "job-1"], headers: engineer),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["job_id"] }, ["1", "2", "1"])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT tenant, submitted_by, state FROM training_jobs WHERE name = 'job-1' ORDER BY id")?.map { $0.map(\.plain).joined(separator: " ") },
                       ["t1 ml-engineer queued", "t2 bob queued"])
    }

    /// The cluster's job is its tenant's job of its name, whoever submitted that name first: with
    /// bob's (t2) `job-1` submitted before the engineer's (t1), the statement the cluster reads
    /// and writes its job by names the engineer's job, never bob's.
    func testTheClusterJobStatementPicksItsTenantsJobNotAnEarlierOneOfAnotherTenant() {
        let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
        let outcome = ServiceHarness.run("training", [
            HTTPRequest("POST", "training/jobs", body: ["job": "job-1"], headers: bob),
            HTTPRequest("POST", "training/jobs", body: ["job": "job-1"], headers: engineer),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.body["job_id"] }, ["1", "2"])
        var cluster = TrainingPlatformConfiguration()
        cluster.job.name = "job-1"
        let picked = outcome.view.rows("experiments_db", "SELECT tenant, submitted_by FROM training_jobs WHERE id = (\(TrainingService.clusterJob))",
                                       TrainingService.clusterJobKey(cluster))
        XCTAssertEqual(picked?.map { $0.map(\.plain).joined(separator: " ") }, ["t1 ml-engineer"])
        cluster.tenant = "t3"
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT id FROM training_jobs WHERE id = (\(TrainingService.clusterJob))",
                                         TrainingService.clusterJobKey(cluster))?.count, 0, "no job of the cluster's tenant: none is the cluster's")
    }

    /// A platform service creates a run for the tenant it names (a training job's submitter's); a
    /// tenant's caller naming another tenant in the body still creates its own tenant's run.
    func testThePlatformCreatesARunForTheTenantItNames() {
        let outcome = ServiceHarness.run("experiments", [
            HTTPRequest("POST", "experiments/runs", body: ["tenant": "t2", "run_key": "job-a"]),
            HTTPRequest("POST", "experiments/runs", body: ["tenant": "t2", "run_key": "job-b"], headers: ModelTenancyTests.engineer),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200])
        XCTAssertEqual(outcome.view.rows("experiments_db", "SELECT run_key, tenant FROM runs ORDER BY id")?.map { $0.map(\.plain).joined(separator: " ") }, ["job-a t2", "job-b t1"])
    }
}
