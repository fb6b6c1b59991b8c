import SimKernel

extension SimulationSystem {
    /// Runs a seed file again with its trace recorded and renders a self-contained HTML page of it:
    /// the outcome and its message, how to reproduce it, the knobs, a timeline per node (its
    /// events, crashes and restarts, the failure's instant) and the last events of the nodes and
    /// actors the message names (all when it names none). No scripts or files from elsewhere.
    public func report(_ file: SystemSeedFile, seedFilePath: String? = nil) throws(SystemFileError) -> String {
        let knobs = try knobs(of: file)
        let recorder = RecordingTraceSink()
        let run = run(seed: file.seed, knobs: knobs, sinks: [recorder])
        return SystemReportPage(system: name, file: file, path: seedFilePath ?? file.path, run: run, records: recorder.records).html
    }
}

/// The HTML of a system's run (see `SimulationSystem.report`).
struct SystemReportPage {
    let system: String
    let file: SystemSeedFile
    let path: String?
    let run: SystemRun
    let records: [TraceRecord]

    var nodes: [String] {
        var seen: [String] = []
        for record in records where !record.node.isEmpty && record.node != "-" && !seen.contains(record.node) { seen.append(record.node) }
        return seen
    }

    /// The records of the nodes or actors the failure's message names, or all of them.
    var involved: (names: [String], records: [TraceRecord]) {
        let message = run.outcome.message
        var names: [String] = []
        for name in nodes + records.map(\.actor) where !name.isEmpty && !names.contains(name) && message.contains(name) { names.append(name) }
        guard !names.isEmpty else { return ([], records) }
        return (names, records.filter { r in names.contains { r.node == $0 || r.actor == $0 } })
    }

    var html: String {
        let outcome = run.outcome
        let replayed = run.fingerprint == file.fingerprint ? "replays bit for bit" : "DIFFERS from the file's \(hex64(file.fingerprint))"
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(escape(system)) seed \(file.seed): \(escape(outcome.kind))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px;color:#1d1d1f;max-width:1200px}
            h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
            .outcome{display:inline-block;padding:3px 10px;border-radius:12px;color:#fff;font-weight:600}
            .failed{background:#c62828} .passed{background:#2e7d32}
            code,pre{font-family:ui-monospace,monospace;font-size:13px} pre{background:#f5f5f7;padding:10px;border-radius:6px;white-space:pre-wrap}
            table{border-collapse:collapse;font-size:13px} td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
            .muted{color:#666} svg text{font-family:ui-monospace,monospace;font-size:11px}
            </style></head><body>
            <h1>\(escape(system)) &middot; seed \(file.seed)</h1>
            <p><span class="outcome \(outcome.isFailure ? "failed" : "passed")">\(escape(outcome.kind))</span>
            <span class="muted">checker</span> <b id="checker">\(escape(outcome.checker ?? "-"))</b>
            \(outcome.time.map { "<span class=\"muted\">at</span> <b>\(formatNanoseconds($0)) virtual</b>" } ?? "")</p>
            <pre id="message">\(escape(outcome.message))</pre>
            <h2>Reproduce</h2>
            <pre id="reproduce">let file = try SystemSeedFile.load(path: \(escape(quoted(path ?? file.fileName))))
            let verdict = try system.replay(file)   // system: your SimulationSystem named \(escape(quoted(system)))
            // or: system.run(seed: \(file.seed), knobs: ...) with the knobs below</pre>
            <p class="muted">fingerprint \(hex64(run.fingerprint)) (\(escape(replayed))) &middot; \(run.events) events &middot; \(formatNanoseconds(run.virtualNanoseconds)) virtual</p>
            <h2>Knobs</h2>
            <table id="knobs"><tr><th>knob</th><th>value</th></tr>

            """
        for (name, value) in run.knobs.values { page += "<tr><td>\(escape(name))</td><td>\(value)</td></tr>\n" }
        page += "</table>\n<h2>Timeline per node</h2>\n" + timeline + "\n"
        let (names, relevant) = involved
        page += "<h2>Last events</h2>\n<p id=\"events-filter\" class=\"muted\">"
            + (names.isEmpty ? "all nodes and actors (the message names none)" : "the nodes and actors the message names: " + escape(names.joined(separator: ", ")))
            + " &middot; the last \(Swift.min(40, relevant.count)) of \(relevant.count)</p>\n"
        page += "<table id=\"events\"><tr><th>time</th><th>node</th><th>actor</th><th>kind</th><th>detail</th></tr>\n"
        for record in relevant.suffix(40) {
            page += "<tr><td>\(formatNanoseconds(record.time))</td><td>\(escape(record.node))</td><td>\(escape(record.actor))</td><td>\(escape(record.kind))</td><td>\(escape(record.detail))</td></tr>\n"
        }
        return page + "</table>\n</body></html>\n"
    }

    /// One row per node: a grey tick per event, red for a crash, green for a restart, and a red
    /// line at the failure (the recorder keeps up to 200,000 records).
    var timeline: String {
        let width = 900.0, left = 110.0, row = 22.0
        let end = Double(Swift.max(1, run.virtualNanoseconds, records.last?.time ?? 1))
        func x(_ t: Int64) -> Double { left + (width - left - 10) * Double(t) / end }
        var svg = "<svg id=\"timeline\" width=\"\(Int(width))\" height=\"\(Int(Double(nodes.count) * row + 30))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        for (index, node) in nodes.enumerated() {
            let y = Double(index) * row + 14
            svg += "<text x=\"4\" y=\"\(y + 4)\">\(escape(node))</text><line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 10)\" y2=\"\(y)\" stroke=\"#eee\"/>\n"
            var lastX = -1.0
            for record in records where record.node == node {
                let colour = record.kind == TraceKind.nodeCrash.name ? "#c62828" : record.kind == TraceKind.nodeRestart.name ? "#2e7d32" : "#999"
                let at = x(record.time)
                if colour == "#999" && at - lastX < 1 { continue }  // one tick a pixel for plain events
                if colour == "#999" { lastX = at }
                svg += "<line class=\"\(colour == "#999" ? "event" : escape(record.kind))\" x1=\"\(at)\" y1=\"\(y - 6)\" x2=\"\(at)\" y2=\"\(y + 6)\" stroke=\"\(colour)\" stroke-width=\"\(colour == "#999" ? 1 : 3)\"/>\n"
            }
        }
        if let failure = run.outcome.time {
            svg += "<line id=\"failure\" x1=\"\(x(failure))\" y1=\"0\" x2=\"\(x(failure))\" y2=\"\(Double(nodes.count) * row + 4)\" stroke=\"#c62828\" stroke-dasharray=\"4 2\"/>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(Double(nodes.count) * row + 24)\" class=\"muted\">0 s</text><text x=\"\(width - 80)\" y=\"\(Double(nodes.count) * row + 24)\">\(formatNanoseconds(Int64(end)))</text>\n"
        return svg + "</svg>\n<p class=\"muted\">legend: grey, an event; red, a crash; green, a restart; dashed red, the failure</p>"
    }

    func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
