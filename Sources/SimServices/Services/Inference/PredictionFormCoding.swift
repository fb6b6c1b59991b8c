/// The prediction path's form coding by hand (see `FormFastDecodable`): every prediction decodes
/// a `Predict` and encodes a `Prediction`, and Codable's generic containers cost a tenth of a
/// serving scenario's time. The fields are those the Codable path reads and writes (snake_case
/// names, a comma-separated list, numbers as Swift prints them); anything else is left to it.
extension InferenceService.Predict: FormFastDecodable {
    public init?(formFields fields: [String: String]) {
        var used = 0
        if let text = fields["x"] {
            var values: [Float] = []
            if !text.isEmpty {
                for item in text.splitBytes(",", omittingEmptySubsequences: false) {
                    guard let value = formFloat(item) else { return nil }
                    values.append(value)
                }
            }
            x = values
            used += 1
        }
        if let text = fields["features"] { features = text; used += 1 }
        if let text = fields["model"] { model = text; used += 1 }
        if let text = fields["version"] {
            guard let value = Int64(text) else { return nil }
            version = value
            used += 1
        }
        if let text = fields["user"] { user = text; used += 1 }
        if let text = fields["text"] { self.text = text; used += 1 }
        // A field of another name (`x.0`, a typo): the Codable path words the refusal.
        guard used == fields.count else { return nil }
    }
}

extension InferenceService.Prediction: FormFastEncodable {
    public var formFields: [String: String] {
        var fields: [String: String] = ["p": "\(p)", "device": device]
        if let model { fields["model"] = model }
        if let version { fields["version"] = "\(version)" }
        if let replica { fields["replica"] = replica }
        if let computeMs { fields["compute_ms"] = "\(computeMs)" }
        if let label { fields["label"] = label }
        return fields
    }
}
