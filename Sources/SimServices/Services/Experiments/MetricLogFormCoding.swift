/// `experiments/metrics`' request coded by hand (see `FormFastDecodable`): a training run logs its
/// metrics every few steps, and Codable's generic containers for the nested `metric` dictionary
/// (its key type's metadata looked up at run time, the fields sorted for its keys) were a
/// twenty-fifth of scenario 02. The fields are those the Codable path reads and writes: `run`,
/// `step`, `metric.<name>` (the whole rest of the field is the name, dots included),
/// `timestamp_ms` and `attempt` when present; any other form is left to the Codable path, which
/// words the refusal.
extension MetricLog.Log: FormFastDecodable, FormFastEncodable {
    public init?(formFields fields: [String: String]) {
        guard let runText = fields["run"], let run = Int64(runText), let stepText = fields["step"], let step = Int64(stepText) else { return nil }
        var used = 2
        var timestamp: Int64?, attempt: Int64?
        if let text = fields["timestamp_ms"] {
            guard let value = Int64(text) else { return nil }
            timestamp = value
            used += 1
        }
        if let text = fields["attempt"] {
            guard let value = Int64(text) else { return nil }
            attempt = value
            used += 1
        }
        var metric: [String: Double] = [:]
        // determinism-ok: the dictionary built and the count do not depend on the order, nor does
        // the answer nil for a malformed value
        for (field, text) in fields where field.hasPrefix("metric.") {
            let name = String(field.dropFirst("metric.".count))
            guard !name.isEmpty, let value = Double(text), value.isFinite else { return nil }
            metric[name] = value
            used += 1
        }
        // A field of another name (a typo, `metric` without a name): the Codable path refuses it.
        guard used == fields.count else { return nil }
        self.init(run: run, step: step, metric: metric, timestampMs: timestamp, attempt: attempt)
    }

    public var formFields: [String: String] {
        var fields: [String: String] = ["run": "\(run)", "step": "\(step)"]
        fields.reserveCapacity(2 + metric.count + 2)
        for (name, value) in metric { fields["metric." + name] = "\(value)" }  // determinism-ok: fills a dictionary
        if let timestampMs { fields["timestamp_ms"] = "\(timestampMs)" }
        if let attempt { fields["attempt"] = "\(attempt)" }
        return fields
    }
}
