import XCTest
@testable import SimKernel
@testable import SimServices

/// Schema versions of a feature view: appending features makes a new version, anything else is
/// refused; rows are written under a version and read by name in the reader's version (C6 reads
/// them by position, and a reader of one version fails on a row of another).
final class SchemaEvolutionTests: XCTestCase {
    typealias R = FeatureRequests
    let s = Nanos.second

    func testAppendingAFeatureIsCompatible() {
        XCTAssertNil(SchemaVersions.incompatibility(old: ["a", "b"], new: ["a", "b", "c"]))
        XCTAssertNil(SchemaVersions.incompatibility(old: ["a", "b"], new: ["a", "b"]))
    }

    func testRemovingAFeatureIsIncompatible() {
        XCTAssertEqual(SchemaVersions.incompatibility(old: ["a", "b"], new: ["a"]), "removes feature b")
        XCTAssertEqual(SchemaVersions.incompatibility(old: ["a", "b"], new: ["a", "c"]), "removes feature b")
    }

    func testMovingAFeatureIsIncompatible() {
        XCTAssertEqual(SchemaVersions.incompatibility(old: ["a", "b"], new: ["b", "a"]), "moves feature a (from position 1)")
        XCTAssertEqual(SchemaVersions.incompatibility(old: ["a", "b"], new: ["a", "x", "b"]), "moves feature b (from position 2)")
    }

    /// By name: the reader's features in its order, a missing one empty, an unknown one left out.
    func testProjectionReadsByName() throws {
        let old = try SchemaVersions.project(["1", "2", "3"], written: ["a", "b", "c"], reader: ["a", "b"]).get()
        XCTAssertEqual(old.map { "\($0.0)=\($0.1)" }, ["a=1", "b=2"])
        let new = try SchemaVersions.project(["1", "2"], written: ["a", "b"], reader: ["a", "b", "c"]).get()
        XCTAssertEqual(new.map { "\($0.0)=\($0.1)" }, ["a=1", "b=2", "c="])
    }

    /// C6 zips by position: a row one value wider than the reader's schema is an error.
    func testC6ProjectionFailsOnARowOfAnotherWidth() {
        let defects = DefectSet([.C6])
        XCTAssertEqual(SchemaVersions.project(["1", "2", "3"], written: ["a", "b", "c"], reader: ["a", "b"], defects: defects).failure?.message,
                       "the row has 3 values, the reader's schema 2 features")
        XCTAssertNotNil(SchemaVersions.project(["1", "2"], written: ["a", "b"], reader: ["a", "b"], defects: defects).success)
    }

    /// Registering a view: v1; the same features again: still v1; a feature appended: v2.
    func testRegistrationNumbersTheVersions() {
        let outcome = ServiceHarness.run("features", [
            R.register("p", features: ["a", "b"]), R.register("p", features: ["a", "b"]), R.register("p", features: ["a", "b", "c"]),
        ])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["version"] }, ["1", "1", "2"])
    }

    /// A registration that drops a feature is 422 and leaves the view as it was (v1 rows still
    /// ingest with two values).
    func testRegistrationThatRemovesAFeatureIs422() {
        let outcome = ServiceHarness.run("features", [
            R.register("p", features: ["a", "b"]), R.register("p", features: ["a"]),
            R.ingest("p", [R.row("s1", "u1", at: s, ["1", "2"])]),
        ])
        XCTAssertEqual(outcome.responses[1]?.status, 422)
        XCTAssertEqual(outcome.responses[1]?.body["error"], "view p: v2 is not backward compatible with v1: it removes feature b (only appending features is allowed)")
        XCTAssertEqual(outcome.responses[2]?.body["stored"], "1")
    }

    /// An old reader (v1) gets a row written under v2 by name, without the feature it does not know.
    func testAnOldReaderReadsANewRow() {
        let outcome = ServiceHarness.run("features", [
            R.register("p", features: ["a", "b"]), R.register("p", features: ["a", "b", "c"]),
            R.ingest("p", [R.row("s1", "u1", at: s, ["1", "2", "3"])], version: 2),
            R.historical("p", [("u1", 2 * s)], version: 1),
        ])
        XCTAssertEqual(outcome.responses[3]?.status, 200)
        XCTAssertEqual(R.rows(outcome.responses[3]).first?.last, "a=1;b=2")
    }

    /// A new reader (v2) gets a row an old writer sent under v1, the appended feature empty.
    func testANewReaderReadsAnOldRow() {
        let outcome = ServiceHarness.run("features", [
            R.register("p", features: ["a", "b"]), R.register("p", features: ["a", "b", "c"]),
            R.ingest("p", [R.row("s1", "u1", at: s, ["1", "2"])], version: 1),
            R.historical("p", [("u1", 2 * s)]),
        ])
        XCTAssertEqual(outcome.responses[2]?.body["stored"], "1")
        XCTAssertEqual(R.rows(outcome.responses[3]).first?.last, "a=1;b=2;c=")
    }

    /// With C6 the same old reader fails (500) on the new row, and the failure is observed.
    func testC6OldReaderFailsOnANewRow() {
        let outcome = ServiceHarness.run("features", defects: DefectSet([.C6]), [
            R.register("p", features: ["a", "b"]), R.register("p", features: ["a", "b", "c"]),
            R.ingest("p", [R.row("s1", "u1", at: s, ["1", "2", "3"])], version: 2),
            R.historical("p", [("u1", 2 * s)], version: 1),
        ])
        XCTAssertEqual(outcome.responses[3]?.status, 500)
        XCTAssertEqual(outcome.simulation.features.joinFailures.first?.message,
                       "p v1 reader: row s1 of u1 (written under v2): the row has 3 values, the reader's schema 2 features")
    }

    /// Rows are checked against the width of the version they name; an unknown version is 400.
    func testIngestChecksTheRowsAgainstTheirVersion() {
        let outcome = ServiceHarness.run("features", [
            R.register("p", features: ["a", "b"]), R.register("p", features: ["a", "b", "c"]),
            R.ingest("p", [R.row("s1", "u1", at: s, ["1", "2", "3"])], version: 1),
            R.ingest("p", [R.row("s2", "u1", at: s, ["1", "2"])], version: 3),
            R.ingest("p", [R.row("s3", "u1", at: s, ["1", "2"])]),
        ])
        XCTAssertEqual(outcome.responses[2]?.status, 400)
        XCTAssertEqual(outcome.responses[2]?.body["error"], "rows: s1 has 3 values; view p v1 has 2 features")
        XCTAssertEqual(outcome.responses[3]?.status, 400)
        XCTAssertEqual(outcome.responses[3]?.body["error"], "version: view p has no schema version 3 (it has v1, v2)")
        XCTAssertEqual(outcome.responses[4]?.status, 400, "without a version, rows are the newest version's (three values)")
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { return error } else { return nil } }
    var success: Success? { if case .success(let value) = self { return value } else { return nil } }
}
