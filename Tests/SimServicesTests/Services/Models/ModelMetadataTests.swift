import XCTest
@testable import SimKernel
@testable import SimServices

/// Model metadata as XML: the reader, DTDs refused and logged, the description stored; I6 resolves
/// external entities from the node's files.
final class ModelMetadataTests: XCTestCase {
    /// Elements, comments, the declaration, predefined entities and character references read as
    /// fields of the root's children; attributes and nested elements do not disturb them.
    func testTheReaderTakesTheRootsChildrenAsFields() throws {
        let xml = #"<?xml version="1.0" encoding="UTF-8"?><!-- exported --><model kind="clf"><description>Scores &lt;fraud&gt; &amp; abuse &#233;&#x21;</description><framework version="1.4">sklearn</framework><tags><tag>a</tag></tags><empty/></model>"#
        let document = try MetadataXML(xml)
        XCTAssertEqual(document.root, "model")
        XCTAssertEqual(document.fields.map(\.name), ["description", "framework", "tags", "empty"])
        XCTAssertEqual(document.fields[0].text, "Scores <fraud> & abuse é!")
        XCTAssertEqual(document.fields[1].text, "sklearn")
    }

    /// A DTD is refused before anything in it is read, whatever it declares; malformed documents
    /// and undefined entities are errors naming the problem.
    func testADocumentTypeDeclarationIsRefused() {
        for (what, xml) in ModelAttacksDocuments.all where what != "plain" {
            XCTAssertThrowsError(try MetadataXML(xml), what) { XCTAssertEqual($0 as? MetadataXML.ParseError, .dtdForbidden, what) }
        }
        XCTAssertThrowsError(try MetadataXML("<!DOCTYPE model><model/>")) { XCTAssertEqual($0 as? MetadataXML.ParseError, .dtdForbidden) }
        XCTAssertThrowsError(try MetadataXML("<model><description>&key;</description></model>")) { XCTAssertEqual($0 as? MetadataXML.ParseError, .undefinedEntity("key")) }
        for malformed in ["", "<model>", "<model></other>", "<model/><extra/>", "text", "<model><a></model>"] {
            XCTAssertThrowsError(try MetadataXML(malformed), malformed)
        }
    }

    /// I6's reader: an external entity reads the node's file, internal entities expand, and a
    /// billion-laughs document stops at the expansion limit.
    func testTheEntityResolvingReaderReadsFilesAndExpands() throws {
        let resolve: (String) -> String? = { ImageFiles.read($0, node: "models") }
        let key = try MetadataXML(ModelAttacksDocuments.all[1].xml, resolvingEntities: true, resolve: resolve)
        XCTAssertEqual(key.fields.first?.text, ImageFiles.read("/etc/synapsenet/mesh.key", node: "models"))
        let nested = try MetadataXML(#"<!DOCTYPE m [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><m><d>&b;-&b;</d></m>"#, resolvingEntities: true)
        XCTAssertEqual(nested.fields.first?.text, "xx-xx")
        XCTAssertThrowsError(try MetadataXML(ModelAttacksDocuments.all[3].xml, resolvingEntities: true)) {
            XCTAssertEqual($0 as? MetadataXML.ParseError, .malformed("entity expansion past 100000 characters"))
        }
    }

    static let engineer = ModelTenancyTests.engineer
    static func metadata(_ xml: String) -> HTTPRequest { HTTPRequest("POST", "models/metadata", body: ["name": "fraud", "xml": xml], headers: engineer) }

    /// Through the service: the plain document's description is stored (revision + 1); each DTD
    /// is refused 400 and logged; nothing of them is stored.
    func testTheServiceStoresTheDescriptionAndRefusesDTDs() {
        let outcome = ServiceHarness.run("models", [ModelTenancyTests.create("fraud", Self.engineer)] + ModelAttacksDocuments.all.map { Self.metadata($0.xml) })
        XCTAssertEqual(outcome.responses.dropFirst().map { $0?.status }, [200, 400, 400, 400])
        XCTAssertEqual(outcome.simulation.security.refusals.map(\.reason), Array(repeating: "XML document type declaration", count: 3))
        XCTAssertEqual(outcome.view.rows("models_db", "SELECT description, revision FROM models")?.map { $0.map(\.plain) }, [["Scores fraud & abuse", "1"]])
        XCTAssertEqual(outcome.simulation.security.metadataStored.map(\.description), ["Scores fraud & abuse"])
    }

    /// I6: the mesh key's file ends up in the model's description, readable by the caller.
    func testI6StoresTheNodesMeshKeyInTheDescription() {
        let outcome = ServiceHarness.run("models", defects: DefectSet([.I6]), [ModelTenancyTests.create("fraud", Self.engineer), Self.metadata(ModelAttacksDocuments.all[1].xml)])
        XCTAssertEqual(outcome.responses[1]?.status, 200)
        let stored = outcome.view.rows("models_db", "SELECT description FROM models")?.first?.first?.text ?? ""
        XCTAssertTrue(stored.contains(SHA256.hex(ForwardedIdentity.key)), stored)
    }
}

/// Metadata documents: a plain one and three attacks (scenario 06's XML author sends its own).
enum ModelAttacksDocuments {
    static let laughs = (1 ... 5).map { level in #"<!ENTITY l\#(level) "\#(String(repeating: level == 1 ? "lol" : "&l\(level - 1);", count: 10))">"# }.joined()
    static let all: [(what: String, xml: String)] = [
        ("plain", #"<?xml version="1.0"?><model><description>Scores fraud &amp; abuse</description></model>"#),
        ("external entity: mesh key", #"<!DOCTYPE model [<!ENTITY k SYSTEM "file:///etc/synapsenet/mesh.key">]><model><description>&k;</description></model>"#),
        ("external entity: passwd", #"<!DOCTYPE model [<!ENTITY pw SYSTEM "file:///etc/passwd">]><model><description>&pw;</description></model>"#),
        ("billion laughs", "<!DOCTYPE model [\(laughs)]><model><description>&l5;</description></model>"),
    ]
}
