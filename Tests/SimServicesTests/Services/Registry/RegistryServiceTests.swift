import XCTest
@testable import SimKernel
@testable import SimServices

final class RegistryServiceTests: XCTestCase {
    /// Versions count up per model; a trained artifact registered twice (a retry) is one version;
    /// an artifact that does not match its checksum is refused.
    func testVersionsCountUpAndARetriedArtifactIsOneVersion() {
        let artifact: [UInt8] = [1, 2, 3, 4]
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
        XCTAssertTrue(RegistryService.invariants(outcome.view).contains("registry: m has versions [3], not 1...1"), "\(RegistryService.invariants(outcome.view))")
    }

    func testTheInvariantFindsAnArtifactThatDoesNotMatchItsRecordedChecksum() {
        let outcome = ServiceHarness.run("registry", [HTTPRequest("POST", "registry/versions", body: ["model": "m"])])
        ServiceHarness.write(outcome, "models_db", "UPDATE model_versions SET checksum = '00000000'")
        XCTAssertEqual(RegistryService.invariants(outcome.view).count, 1)
        XCTAssertTrue(RegistryService.invariants(outcome.view)[0].hasSuffix("recorded 00000000"))
    }
}
