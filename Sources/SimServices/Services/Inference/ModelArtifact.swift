/// A model version's artifact as the registry stores it in the object store (`models/<model>/<version>`):
/// a small text file naming the model's resident size once loaded and its weights. The weights are
/// real (a logistic model's); the resident size is what loading it costs a replica's memory (the
/// incident's ~500 MB per version), charged to the node's budget by the inference service.
public struct ModelArtifact: Hashable, Sendable {
    public var model: String
    public var version: Int64
    /// Memory a replica spends on it while it is loaded, in MiB.
    public var residentMiB: Int
    public var weights: [Float]
    /// The input signature: feature names in the order the weights expect them (one per weight
    /// but the bias). Default `f0`, `f1`, ...
    public var features: [String]
    /// What a prediction answers: the probability, or a class label (0 or 1, an integer) beside it.
    public var output: Output
    /// A text model's pre-processing as it was trained (nil: numeric features): a request's text
    /// becomes the model's inputs through it, one per position.
    public var text: TextPreprocessing?

    public enum Output: String, Sendable, Hashable, CaseIterable {
        case probability, label
    }

    public init(model: String, version: Int64, residentMiB: Int, weights: [Float], features: [String]? = nil, output: Output = .probability,
                text: TextPreprocessing? = nil) {
        self.model = model
        self.version = version
        self.residentMiB = residentMiB
        self.weights = weights
        self.features = features ?? (0 ..< Swift.max(0, weights.count - 1)).map { "f\($0)" }
        self.output = output
        self.text = text
        precondition(text.map { $0.length == weights.count - 1 } ?? true,
                     "\(model) v\(version): a text sequence of \(text?.length ?? 0) tokens needs \((text?.length ?? 0) + 1) weights, has \(weights.count)")
    }

    /// A text model's probability for `text`, pre-processed as recorded (or padded on `padding`'s
    /// side): what serving must answer, and what an offline replay recomputes. Nil for a numeric model.
    public func probability(text input: String, padding: TextPreprocessing.Padding? = nil) -> Float? {
        text.map { LogisticModel.sigmoid(LogisticModel.score(weights, $0.inputs(input, padding: padding))) }
    }

    /// Bytes of memory a loaded copy costs.
    public var residentBytes: Int { residentMiB << 20 }

    /// The file's text: a header line, then one `key: value` line each.
    public var encoded: [UInt8] {
        Array(("synapsenet-model 1\nmodel: \(model)\nversion: \(version)\nresident_mib: \(residentMiB)\nweights: \(weights.map { "\($0)" }.joined(separator: ","))\n"
            + "features: \(features.joined(separator: ","))\n" + (output == .probability ? "" : "output: \(output.rawValue)\n")
            + (text.map { "text: \($0.encoded)\n" } ?? "")).utf8)
    }

    /// Parses a file written by `encoded`; nil for anything else.
    public init?(decoding bytes: [UInt8]) {
        let lines = String(decoding: bytes, as: UTF8.self).splitBytes("\n", omittingEmptySubsequences: false)
        guard lines.first == "synapsenet-model 1" else { return nil }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        guard let model = fields["model"], !model.isEmpty, let version = fields["version"].flatMap({ Int64($0) }),
              let resident = fields["resident_mib"].flatMap({ Int($0) }), resident >= 0, let weightText = fields["weights"] else { return nil }
        let weights = weightText.splitBytes(",").compactMap { Float($0) }
        guard !weights.isEmpty, weights.count == weightText.splitBytes(",").count, weights.allSatisfy(\.isFinite) else { return nil }
        let features = fields["features"].map { $0.splitBytes(",").map(String.init) }
        if let features, features.count != weights.count - 1 || Set(features).count != features.count { return nil }
        var output = Output.probability
        if let text = fields["output"] {
            guard let declared = Output(rawValue: text) else { return nil }
            output = declared
        }
        var text: TextPreprocessing?
        if let recorded = fields["text"] {
            // One input per position of the sequence.
            guard let parsed = TextPreprocessing(decoding: recorded), parsed.length == weights.count - 1 else { return nil }
            text = parsed
        }
        self.init(model: model, version: version, residentMiB: resident, weights: weights, features: features, output: output, text: text)
    }
}
