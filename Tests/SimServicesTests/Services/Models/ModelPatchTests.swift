import XCTest
@testable import SimKernel
@testable import SimServices

/// `models/update`: a merge patch of the patchable fields only, within the caller's tenant; a patch
/// naming a protected field is refused whole and logged; I7 writes whatever the patch names.
final class ModelPatchTests: XCTestCase {
    static let engineer = ModelTenancyTests.engineer, bob = ModelTenancyTests.bob
    static func update(_ patch: String, _ headers: [String: String] = engineer, name: String = "fraud") -> HTTPRequest {
        HTTPRequest("POST", "models/update", body: ["name": name, "patch": patch], headers: headers)
    }
    static func rows(_ outcome: ServiceHarness.Outcome) -> [[String]]? {
        outcome.view.rows("models_db", "SELECT tenant, name, description, signature, revision FROM models ORDER BY id")?.map { $0.map(\.plain) }
    }

    /// Description and signature are patched; the revision goes up by one each time; the update is
    /// recorded with the row before and after.
    func testAPatchChangesThePatchableFieldsAndRaisesTheRevision() {
        let outcome = ServiceHarness.run("models", [ModelTenancyTests.create("fraud", Self.engineer), Self.update(#"{"description":"scores fraud"}"#),
                                                    Self.update(#"{"signature":"a:float,b:float","description":"v2"}"#)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200])
        XCTAssertEqual(outcome.responses.map { $0?.body["revision"] }, ["0", "1", "2"])
        XCTAssertEqual(Self.rows(outcome), [["t1", "fraud", "v2", "a:float,b:float", "2"]])
        XCTAssertEqual(outcome.simulation.security.modelUpdates.map { "\($0.caller) \($0.asked) \($0.before["revision"]!)->\($0.after["revision"]!)" },
                       ["ml-engineer@t1 [\"description\"] 0->1", "ml-engineer@t1 [\"description\", \"signature\"] 1->2"])
    }

    /// Each protected field (tenant, revision, id, name), alone or beside a patchable one, is
    /// refused 403 and logged naming the field; nothing of the patch is written.
    func testAPatchNamingAProtectedFieldIsRefusedWholeAndLogged() {
        let patches = [#"{"description":"moved","tenant":"t2"}"#, #"{"revision":"0"}"#, #"{"id":"7"}"#, #"{"name":"renamed"}"#, #"{"role":"admin"}"#]
        let outcome = ServiceHarness.run("models", [ModelTenancyTests.create("fraud", Self.engineer)] + patches.map { Self.update($0) })
        XCTAssertEqual(outcome.responses.dropFirst().map { $0?.status }, [403, 403, 403, 403, 403])
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason),
                       ["field tenant may not be changed", "field revision may not be changed", "field id may not be changed", "field name may not be changed", "field role may not be changed"])
        XCTAssertEqual(Self.rows(outcome), [["t1", "fraud", "", "f0:float", "0"]])
        XCTAssertEqual(outcome.simulation.security.modelUpdates.count, 0)
    }

    /// A patch is looked up within the caller's tenant: bob (t2) cannot patch t1's model (404);
    /// an anonymous caller gets 401; a patch that is not a JSON object of strings is 400.
    func testAPatchActsOnlyWithinTheCallersTenant() {
        let outcome = ServiceHarness.run("models", [ModelTenancyTests.create("fraud", Self.engineer), Self.update(#"{"description":"mine now"}"#, Self.bob),
                                                    Self.update(#"{"description":"x"}"#, [:]), Self.update("[1]"), Self.update(#"{"description":3}"#), Self.update("{}")])
        XCTAssertEqual(outcome.responses.dropFirst().map { $0?.status }, [404, 401, 400, 400, 400])
        XCTAssertEqual(Self.rows(outcome), [["t1", "fraud", "", "f0:float", "0"]])
    }

    /// I7: the patch's tenant and revision are written; the protected-fields observations show the
    /// tenant moved and the revision rewound.
    func testI7WritesTheProtectedFieldsAPatchNames() {
        let outcome = ServiceHarness.run("models", defects: DefectSet([.I7]), [ModelTenancyTests.create("fraud", Self.engineer), Self.update(#"{"description":"x"}"#),
                                                                               Self.update(#"{"revision":"0"}"#), Self.update(#"{"tenant":"t2"}"#)])
        XCTAssertEqual(outcome.responses.map { $0?.status }, [200, 200, 200, 200])
        XCTAssertEqual(Self.rows(outcome), [["t2", "fraud", "x", "f0:float", "1"]])
        let updates = outcome.simulation.security.modelUpdates
        XCTAssertEqual(updates.map { "\($0.before["tenant"]!)/\($0.before["revision"]!) -> \($0.after["tenant"]!)/\($0.after["revision"]!)" }, ["t1/0 -> t1/1", "t1/1 -> t1/0", "t1/0 -> t2/1"])
    }
}
