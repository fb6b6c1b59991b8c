import XCTest
@testable import SimKernel
@testable import SimServices

/// The wire form of request and response bodies.
final class FormCodingTests: XCTestCase {
    struct Sample: Codable, Equatable {
        var jobName: String
        var steps: Int64
        var rate: Double
        var enabled: Bool
        var note: String?
        var x: [Float]
        var metric: [String: Double]?
    }

    func testAValueRoundTripsThroughSnakeCaseFields() throws {
        let value = Sample(jobName: "j", steps: 40, rate: 0.5, enabled: true, note: nil, x: [1, 2.5], metric: ["accuracy": 0.9, "loss": 0.25])
        let fields = FormEncoder.encode(value)
        XCTAssertEqual(fields, ["job_name": "j", "steps": "40", "rate": "0.5", "enabled": "true", "x": "1.0,2.5", "metric.accuracy": "0.9", "metric.loss": "0.25"])
        XCTAssertEqual(try FormDecoder.decode(Sample.self, from: fields), value)
    }

    func testAMissingRequiredFieldIsNamed() {
        XCTAssertThrowsError(try FormDecoder.decode(Sample.self, from: ["steps": "1", "rate": "1", "enabled": "true", "x": ""])) {
            XCTAssertEqual(($0 as? FormError)?.field, "job_name")
        }
    }

    func testAFieldOfTheWrongTypeIsNamedWithItsValue() {
        XCTAssertThrowsError(try FormDecoder.decode(Sample.self, from: ["job_name": "j", "steps": "forty", "rate": "1", "enabled": "true", "x": ""])) {
            XCTAssertEqual("\($0)", "steps: 'forty' is not an integer in range")
        }
        XCTAssertThrowsError(try FormDecoder.decode(Sample.self, from: ["job_name": "j", "steps": "1", "rate": "nan", "enabled": "true", "x": ""])) {
            XCTAssertEqual(($0 as? FormError)?.field, "rate", "a non-finite number is refused")
        }
        XCTAssertThrowsError(try FormDecoder.decode(Sample.self, from: ["job_name": "j", "steps": "1", "rate": "1", "enabled": "yes", "x": ""])) {
            XCTAssertEqual(($0 as? FormError)?.field, "enabled")
        }
    }

    func testAnUnknownFieldIsRefusedNotIgnored() {
        XCTAssertThrowsError(try FormDecoder.decode(Sample.self, from: ["job_name": "j", "steps": "1", "rate": "1", "enabled": "true", "x": "", "stpes": "2"])) {
            XCTAssertEqual("\($0)", "stpes: unknown field")
        }
    }

    func testAListElementThatIsNotANumberIsNamedByItsPosition() {
        XCTAssertThrowsError(try FormDecoder.decode(Sample.self, from: ["job_name": "j", "steps": "1", "rate": "1", "enabled": "true", "x": "1,b,3"])) {
            XCTAssertEqual(($0 as? FormError)?.field, "x[1]")
        }
    }

    func testSmallIntegersEmptyDictionariesAndDottedKeysRoundTrip() throws {
        struct Small: Codable, Equatable {
            var a: Int8
            var b: UInt16
            var c: UInt32
            var scores: [String: Double]
        }
        let value = Small(a: -5, b: 60000, c: 7, scores: ["val.acc": 0.5])
        XCTAssertEqual(FormEncoder.encode(value), ["a": "-5", "b": "60000", "c": "7", "scores.val.acc": "0.5"])
        XCTAssertEqual(try FormDecoder.decode(Small.self, from: FormEncoder.encode(value)), value)
        let empty = Small(a: 0, b: 0, c: 0, scores: [:])
        XCTAssertEqual(try FormDecoder.decode(Small.self, from: FormEncoder.encode(empty)), empty, "an empty dictionary has no fields and comes back empty")
        XCTAssertThrowsError(try FormDecoder.decode(Small.self, from: ["a": "300", "b": "1", "c": "1"])) { XCTAssertEqual(($0 as? FormError)?.field, "a") }
    }

    func testAnEmptyListAndAnAbsentOptionalDecode() throws {
        let value = try FormDecoder.decode(Sample.self, from: ["job_name": "j", "steps": "1", "rate": "1", "enabled": "false", "x": ""])
        XCTAssertEqual(value.x, [])
        XCTAssertNil(value.note)
        XCTAssertNil(value.metric)
    }
}

/// Route tables: matching, refusals, typed answers.
final class RouteTableTests: XCTestCase {
    struct Echo: Codable, Sendable { var word: String }

    func table() -> RouteTable {
        RouteTable([
            Route("POST", "echo/words", Echo.self, Echo.self) { _, request, _ throws(ServiceError) in
                guard request.word != "forbidden" else { throw ServiceError(403, "not that word") }
                return Echo(word: request.word.uppercased())
            },
            Route("GET", "echo/words", Empty.self, Echo.self) { _, _, _ throws(ServiceError) in Echo(word: "listed") },
        ])
    }

    /// Answers a request through the table inside a tiny simulation (handlers are async).
    func answer(_ request: HTTPRequest) -> HTTPResponse {
        let simulation = Simulation(seed: 1)
        let node = simulation.addNode("n")
        var response: HTTPResponse?
        let table = table()
        node.addProcess("p") { context in
            let runtime = ServiceRuntime(context: context, spec: ServiceSpec(name: "echo", routes: []), directory: Platform(on: Simulation(seed: 2), topology: Topology(nodes: []), defects: .empty).directory, defects: .empty)
            response = await table.respond(runtime, request)
        }
        simulation.run()
        return response!
    }

    func testARouteDecodesItsRequestAndEncodesItsResponse() {
        XCTAssertEqual(answer(HTTPRequest("POST", "echo/words", body: ["word": "hi"])), HTTPResponse(200, ["word": "HI"]))
        XCTAssertEqual(answer(HTTPRequest("GET", "echo/words")), HTTPResponse(200, ["word": "listed"]))
    }

    func testAnUnknownPathIs404AndAWrongMethodIs405WithTheMethodsItTakes() {
        XCTAssertEqual(answer(HTTPRequest("POST", "echo/nothing")).status, 404)
        let wrong = answer(HTTPRequest("DELETE", "echo/words"))
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.body["error"], "/echo/words takes POST, GET, not DELETE")
    }

    func testABodyThatDoesNotDecodeIs400NamingTheField() {
        let bad = answer(HTTPRequest("POST", "echo/words", body: ["wrod": "hi"]))
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.body["error"], "word: missing")
    }

    func testAServiceErrorBecomesItsStatusAndMessage() {
        XCTAssertEqual(answer(HTTPRequest("POST", "echo/words", body: ["word": "forbidden"])), HTTPResponse.error(403, "not that word"))
    }

    func testEveryServiceDeclaresTypedRoutesUnderItsOwnPath() {
        for service in Topology.services {
            let spec = ServiceCatalogue.spec(service, defects: .empty)
            XCTAssertFalse(spec.routes.routes.isEmpty, "\(service) has no routes")
            XCTAssertTrue(spec.routes.routes.allSatisfy { $0.path.hasPrefix(service + "/") }, "\(service): \(spec.routes.routes.map(\.signature))")
        }
    }
}
