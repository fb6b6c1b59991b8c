import XCTest
@testable import SimKernel
@testable import SimServices

/// The prediction path's hand-written form coding gives what the Codable path gives: the same
/// values from the same fields, the same refusals (worded by the Codable path), the same fields
/// from the same answers. Inputs are drawn from a fixed seed so a failure replays.
final class FormFastCodingTests: XCTestCase {
    typealias Predict = InferenceService.Predict
    typealias Prediction = InferenceService.Prediction

    /// Outcome of one decode, comparable across the two paths.
    enum Decoded: Equatable {
        case value(Predict)
        case refused(FormError)
    }

    func viaDecoder(_ fields: [String: String]) -> Decoded {
        do { return .value(try FormDecoder.decode(Predict.self, from: fields)) } catch { return .refused(error) }
    }

    func viaCodable(_ fields: [String: String]) -> Decoded {
        do { return .value(try FormDecoder.decodeCodable(Predict.self, from: fields)) } catch { return .refused(error) }
    }

    func testWellFormedPredictRequestsDecodeAsTheCodablePathDecodesThem() {
        let cases: [[String: String]] = [
            [:],
            ["x": ""],
            ["x": "1,2,3"],
            ["x": "0.5,-1e3,3.25"],
            ["model": "fraud-detector", "version": "7", "x": "1,2,3", "user": "u-17"],
            ["model": "ticket-triage", "text": "refund my order"],
            ["model": "m", "features": "age=31,income=52000"],
            ["version": "-4", "x": "1"],
            ["version": "9223372036854775807"],
        ]
        for fields in cases {
            guard let fast = Predict(formFields: fields) else { XCTFail("the fast path refused the well-formed \(fields)"); continue }
            XCTAssertEqual(.value(fast), viaCodable(fields), "\(fields)")
        }
    }

    func testMalformedPredictRequestsAreRefusedWithTheCodablePathsWords() {
        let cases: [[String: String]] = [
            ["x": "1,,3"],
            ["x": "1,nan"],
            ["x": "1,inf"],
            ["x": "a"],
            ["x": ","],
            ["version": "1.5"],
            ["version": "9223372036854775808"],
            ["model": "m", "extra": "1"],
            ["x.0": "1"],
            ["x": "1", "x.1": "2"],
        ]
        for fields in cases {
            XCTAssertNil(Predict(formFields: fields), "the fast path accepted the malformed \(fields)")
            let viaDecoder = viaDecoder(fields)
            guard case .refused = viaDecoder else { return XCTFail("\(fields) was accepted: \(viaDecoder)") }
            XCTAssertEqual(viaDecoder, viaCodable(fields), "\(fields)")
        }
    }

    func testRandomPredictRequestsDecodeAlikeOnBothPathsAndTheHandPathRefusesOnlyWhatCodableRefuses() {
        var random = SimRandom(rootSeed: 11, stream: "form-fast-coding")
        let pieces = ["0", "1", "-2", "0.25", "1e3", "3.4028235e38", "nan", "", "x", "1.0", "-0"]
        var accepted = 0
        for _ in 0 ..< 2_000 {
            var fields: [String: String] = [:]
            if random.chance(Ratio(4, 5)) { fields["x"] = (0 ..< random.uniform(0 ..< 4)).map { _ in pieces[random.uniform(0 ..< pieces.count)] }.joined(separator: ",") }
            if random.chance(Ratio(1, 2)) { fields["model"] = "m\(random.uniform(0 ..< 3))" }
            if random.chance(Ratio(1, 2)) { fields["version"] = pieces[random.uniform(0 ..< pieces.count)] }
            if random.chance(Ratio(3, 10)) { fields["user"] = "u\(random.uniform(0 ..< 9))" }
            if random.chance(Ratio(1, 10)) { fields["text"] = "t" }
            if random.chance(Ratio(1, 20)) { fields["stray"] = "1" }
            let reference = viaCodable(fields)
            if let fast = Predict(formFields: fields) {
                // The hand path's own answer (not `decode`'s, which falls back to the reference).
                accepted += 1
                XCTAssertEqual(.value(fast), reference, "\(fields)")
            } else if case .value(let value) = reference {
                XCTFail("the hand path refused \(fields), which the Codable path decodes to \(value)")
            }
            XCTAssertEqual(viaDecoder(fields), reference, "\(fields)")
        }
        XCTAssertGreaterThan(accepted, 400, "the draw reaches well-formed requests the hand path decodes, not only refusals")
    }

    func testPredictionsEncodeToTheFieldsOfTheCodablePath() {
        let answers = [
            Prediction(p: 0.5, device: "cpu"),
            Prediction(p: 0.42067575, device: "gpu", model: "fraud-detector", version: 12, replica: "inference-b", computeMs: 17, label: "0"),
            Prediction(p: 1e-7, device: "cpu", model: "m", version: nil, replica: "inference", computeMs: nil, label: nil),
            Prediction(p: 1, device: "cpu", model: nil, version: -1, replica: nil, computeMs: 0, label: "1"),
        ]
        for answer in answers {
            XCTAssertEqual(FormEncoder.encode(answer), FormEncoder.encodeCodable(answer), "\(answer)")
            XCTAssertEqual(answer.formFields, FormEncoder.encodeCodable(answer))
        }
    }
}

/// auth/verify's hand coding (`AuthFormCoding.swift`) reads and writes what the Codable path does.
final class AuthFormFastCodingTests: XCTestCase {
    typealias Identity = AuthService.Identity
    typealias VerifyRequest = AuthService.VerifyRequest

    func testAnIdentityAndAVerifyRequestEncodeAndDecodeAsTheCodablePathDoes() throws {
        let identity = Identity(user: "bob", tenant: "t2", role: "scientist", jti: "auth-0-7")
        XCTAssertEqual(identity.formFields, FormEncoder.encodeCodable(identity))
        XCTAssertEqual(Identity(formFields: identity.formFields), try FormDecoder.decodeCodable(Identity.self, from: identity.formFields))
        let empty = Identity(user: "", tenant: "", role: "", jti: "")
        XCTAssertEqual(Identity(formFields: FormEncoder.encodeCodable(empty)), empty)
        let request = VerifyRequest(token: "a.b.c")
        XCTAssertEqual(request.formFields, FormEncoder.encodeCodable(request))
        XCTAssertEqual(VerifyRequest(formFields: ["token": "a.b.c"]), try FormDecoder.decodeCodable(VerifyRequest.self, from: ["token": "a.b.c"]))
    }

    func testFormsWithAMissingOrAnExtraFieldAreLeftToTheCodablePathWhichRefusesThem() {
        let forms: [[String: String]] = [
            [:],
            ["user": "bob", "tenant": "t2", "role": "scientist"],
            ["user": "bob", "tenant": "t2", "role": "scientist", "jti": "j", "admin": "true"],
            ["user": "bob", "tenant": "t2", "role": "scientist", "jt": "j"],
        ]
        for form in forms {
            XCTAssertNil(Identity(formFields: form), "\(form)")
            XCTAssertThrowsError(try FormDecoder.decode(Identity.self, from: form), "\(form)")
        }
        for form: [String: String] in [[:], ["token": "t", "user": "bob"], ["tok": "t"]] {
            XCTAssertNil(VerifyRequest(formFields: form), "\(form)")
            XCTAssertThrowsError(try FormDecoder.decode(VerifyRequest.self, from: form), "\(form)")
        }
    }
}

/// `experiments/metrics`' hand coding (`MetricLogFormCoding.swift`) reads and writes what the
/// Codable path does, on drawn forms (a fixed seed, so a failure replays).
final class MetricLogFormFastCodingTests: XCTestCase {
    typealias Log = MetricLog.Log

    enum Decoded: Equatable {
        case value(Log)
        case refused(FormError)
    }

    func viaCodable(_ fields: [String: String]) -> Decoded {
        do { return .value(try FormDecoder.decodeCodable(Log.self, from: fields)) } catch { return .refused(error) }
    }

    func testDrawnFormsDecodeAlikeAndTheHandPathDeclinesOnlyWhatCodableRefuses() {
        var random = SimRandom(rootSeed: 5, stream: "metric-log-form")
        let names = ["run", "step", "metric.loss", "metric.val.acc", "metric.", "metric", "timestamp_ms", "attempt", "metrics.loss", "extra"]
        let values = ["0", "7", "-3", "1.5", "1e3", "nan", "inf", "", "x", "9223372036854775808", "0.25"]
        var accepted = 0
        for _ in 0 ..< 3_000 {
            var fields: [String: String] = ["run": values[random.uniform(0 ..< 3)], "step": values[random.uniform(0 ..< 3)]]
            for _ in 0 ..< random.uniform(0 ..< 5) { fields[names[random.uniform(0 ..< names.count)]] = values[random.uniform(0 ..< values.count)] }
            let codable = viaCodable(fields)
            if let fast = Log(formFields: fields) {
                accepted += 1
                XCTAssertEqual(.value(fast), codable, "\(fields)")
            } else if case .value = codable {
                // The hand path declines only what the Codable path refuses (and then words).
                XCTFail("the hand path declined \(fields), which Codable decodes as \(codable)")
            }
        }
        XCTAssertGreaterThan(accepted, 300, "too few drawn forms were well formed to compare")
    }

    func testLogsEncodeToTheFieldsOfTheCodablePath() {
        let logs = [
            Log(run: 1, step: 0, metric: [:]),
            Log(run: 7, step: 120, metric: ["loss": 0.25, "val.acc": 0.875, "lr": 1e-4]),
            Log(run: 2, step: 3, metric: ["loss": -0.0], timestampMs: 1_767_225_600_123, attempt: 2),
        ]
        for log in logs {
            XCTAssertEqual(log.formFields, FormEncoder.encodeCodable(log))
            XCTAssertEqual(Log(formFields: log.formFields), log)
        }
    }
}
