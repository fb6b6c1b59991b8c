import SimKernel
import SimServices

/// A self-contained HTML page for one run: what was run, the failure, the faults injected, a
/// timeline of events per node, and the wait-for cycle or the violated invariant as an SVG graph.
/// No scripts, fonts or images from elsewhere: it opens offline.
public enum HTMLReport {
    public static func render(file: SeedFile, path: String, configuration: RunConfiguration, result: RunResult, records: [TraceRecord], nodes: [String]) -> String {
        let outcome = result.outcome
        let defects = file.defects.isEmpty ? "none" : file.defects.map(\.rawValue).joined(separator: ",")
        let command = configuration.reproduceCommand ?? "# shrunk (or explicit) faults: only the seed file reproduces this run, with replay:"
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(escape(file.scenario)) seed \(file.seed): \(escape(outcome.kind))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px;color:#1d1d1f;max-width:1200px}
            h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
            .outcome{display:inline-block;padding:3px 10px;border-radius:12px;color:#fff;font-weight:600}
            .failed{background:#c62828} .passed{background:#2e7d32}
            code,pre{font-family:ui-monospace,monospace;font-size:13px} pre{background:#f5f5f7;padding:10px;border-radius:6px;white-space:pre-wrap}
            table{border-collapse:collapse;font-size:13px} td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
            .muted{color:#666} svg text{font-family:ui-monospace,monospace}
            </style></head><body>
            <h1>\(escape(file.scenario)) &middot; seed \(file.seed)</h1>
            <p><span class="outcome \(outcome.isFailure ? "failed" : "passed")">\(escape(outcome.kind))</span>
            <span class="muted">checker</span> <b>\(escape(outcome.checker ?? "-"))</b>
            \(outcome.time.map { "<span class=\"muted\">at</span> <b>\(formatNanoseconds($0)) virtual</b>" } ?? "")
            <span class="muted">defects</span> <b>\(escape(defects))</b></p>
            <pre id="message">\(escape(outcome.message))</pre>
            <h2>Reproduce</h2>
            <pre id="reproduce">\(escape(command))
            swift run -c release simrun replay \(escape(path))</pre>
            <p class="muted">fingerprint \(hex64(result.fingerprint)) &middot; \(result.events) events &middot; \(formatNanoseconds(result.virtualNanoseconds)) virtual &middot; simulator \(escape(file.simulatorVersion))</p>

            """
        html += "<h2>The failure</h2>\n" + failureGraph(outcome) + "\n"
        html += "<h2>Faults injected</h2>\n" + faultsTable(file.faults) + "\n"
        html += "<h2>Timeline per node</h2>\n" + timeline(records: records, nodes: nodes, faults: file.faults, end: result.virtualNanoseconds, failureAt: outcome.time) + "\n"
        // The last events of the actors the failure involves (all actors when it names none).
        let involved = result.involvedActors
        let relevant = involved.isEmpty ? records : records.filter { r in involved.contains { r.node == $0 || r.actor == $0 || r.actor.hasPrefix($0 + "/") } }
        html += "<h2>Last events</h2>\n"
        html += "<p id=\"events-filter\" class=\"muted\">" + (involved.isEmpty ? "all actors" : "the actors the failure involves: " + escape(involved.joined(separator: ", "))) + "</p>\n"
        html += "<table id=\"events\"><tr><th>time</th><th>node</th><th>actor</th><th>kind</th><th>detail</th></tr>\n"
        for record in relevant.suffix(40) {
            html += "<tr><td>\(formatNanoseconds(record.time))</td><td>\(escape(record.node))</td><td>\(escape(record.actor))</td><td>\(escape(record.kind))</td><td>\(escape(record.detail))</td></tr>\n"
        }
        html += "</table>\n</body></html>\n"
        return html
    }

    static func escape(_ text: String) -> String {
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

    /// The wait-for cycle as a ring of owners and resources, or the violated invariant.
    static func failureGraph(_ outcome: Outcome) -> String {
        guard case .deadlock(let cycle) = outcome else {
            // The message, wrapped at word boundaries into at most four lines of the box.
            var lines: [String] = [""]
            for word in outcome.message.splitBytes(" ") {
                if lines[lines.count - 1].count + word.count > 92 { lines.append("") }
                lines[lines.count - 1] += (lines[lines.count - 1].isEmpty ? "" : " ") + word
            }
            if lines.count > 4 { lines = Array(lines.prefix(4)); lines[3] += " ..." }
            let height = 50 + 18 * lines.count
            let text = lines.enumerated().map { "<text x=\"20\" y=\"\(58 + 18 * $0.offset)\" font-size=\"12\">\(escape($0.element))</text>" }.joined(separator: "\n")
            return """
                <svg id="failure-graph" width="760" height="\(height)" viewBox="0 0 760 \(height)" xmlns="http://www.w3.org/2000/svg">
                <rect x="5" y="5" width="750" height="\(height - 10)" rx="10" fill="#fdecea" stroke="#c62828"/>
                <text x="20" y="32" font-size="14" font-weight="bold" fill="#c62828">invariant \(escape(outcome.checker ?? outcome.kind)) violated</text>
                \(text)
                </svg>
                """ + (startupCycle(in: outcome.message).map(startupCycleGraph) ?? "")
        }
        let count = cycle.members.count
        let size = 520.0, center = size / 2, radius = size / 2 - 90
        var svg = "<svg id=\"failure-graph\" width=\"\(Int(size))\" height=\"\(Int(size))\" viewBox=\"0 0 \(Int(size)) \(Int(size))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        svg += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#444\"/></marker></defs>\n"
        // Owners at even positions, the resources they wait for at odd positions of one ring.
        func point(_ slot: Int) -> (Double, Double) {
            let angle = 2 * Double.pi * Double(slot) / Double(2 * count) - Double.pi / 2
            return (center + radius * cosine(angle), center + radius * sine(angle))
        }
        for (index, member) in cycle.members.enumerated() {
            let (ox, oy) = point(2 * index), (rx, ry) = point(2 * index + 1)
            let (nx, ny) = point((2 * index + 2) % (2 * count))
            svg += line(ox, oy, rx, ry, label: "waits for", color: "#c62828", dashed: true)
            svg += line(rx, ry, nx, ny, label: "held by", color: "#444", dashed: false)
            svg += "<g class=\"owner\"><circle cx=\"\(ox)\" cy=\"\(oy)\" r=\"34\" fill=\"#e3f2fd\" stroke=\"#1565c0\"/>"
            svg += "<text x=\"\(ox)\" y=\"\(oy + 4)\" font-size=\"11\" text-anchor=\"middle\">\(escape(member.owner))</text></g>\n"
            svg += "<g class=\"resource\"><rect x=\"\(rx - 55)\" y=\"\(ry - 16)\" width=\"110\" height=\"32\" rx=\"4\" fill=\"#fff8e1\" stroke=\"#f9a825\"/>"
            svg += "<text x=\"\(rx)\" y=\"\(ry + 4)\" font-size=\"11\" text-anchor=\"middle\">\(escape(member.waitsFor))</text></g>\n"
        }
        svg += "</svg>\n<table>" + cycle.members.map {
            "<tr><td><b>\(escape($0.owner))</b></td><td>holds \(escape($0.holds.joined(separator: ", ")))</td><td>waits for <b>\(escape($0.waitsFor))</b> (\($0.mode)) since \(formatNanoseconds($0.since))</td></tr>"
        }.joined(separator: "\n") + "</table>"
        return svg
    }

    /// The services of a start-up dependency cycle the cold-start check names
    /// ("start-up deadlock: a waits for b waits for a"), without the repeated first one.
    static func startupCycle(in message: String) -> [String]? {
        guard let range = message.range(of: "start-up deadlock: ") else { return nil }
        let text = message[range.upperBound...].prefix { $0 != ";" }
        var services = text.components(separatedBy: " waits for ").map { $0.trimmingCharacters(in: .whitespaces) }
        if services.count >= 2, services.first == services.last { services.removeLast() }
        return services.count >= 2 ? services : nil
    }

    /// A start-up dependency cycle drawn like a lock cycle: the services on a ring, each with a
    /// "waits for" arrow to the next.
    static func startupCycleGraph(_ services: [String]) -> String {
        let count = services.count
        let size = 460.0, center = size / 2, radius = size / 2 - 80
        func point(_ index: Int) -> (Double, Double) {
            let angle = 2 * Double.pi * Double(index) / Double(count) - Double.pi / 2
            return (center + radius * cosine(angle), center + radius * sine(angle))
        }
        var svg = "\n<svg id=\"startup-cycle\" width=\"\(Int(size))\" height=\"\(Int(size))\" viewBox=\"0 0 \(Int(size)) \(Int(size))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        svg += "<defs><marker id=\"arrow-startup\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#c62828\"/></marker></defs>\n"
        for index in services.indices {
            let (x1, y1) = point(index), (x2, y2) = point((index + 1) % count)
            svg += line(x1, y1, x2, y2, label: "waits for", color: "#c62828", dashed: true).replacingOccurrences(of: "url(#arrow)", with: "url(#arrow-startup)")
        }
        for (index, service) in services.enumerated() {
            let (x, y) = point(index)
            svg += "<g class=\"service\"><circle cx=\"\(x)\" cy=\"\(y)\" r=\"34\" fill=\"#e3f2fd\" stroke=\"#1565c0\"/>"
            svg += "<text x=\"\(x)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"middle\">\(escape(service))</text></g>\n"
        }
        return svg + "</svg>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, label: String, color: String, dashed: Bool) -> String {
        // Shorten the segment so the arrow ends at the shape's edge.
        let dx = x2 - x1, dy = y2 - y1, length = (dx * dx + dy * dy).squareRoot()
        let shrink = 40 / Swift.max(length, 1)
        let sx = x1 + dx * shrink, sy = y1 + dy * shrink, ex = x2 - dx * shrink, ey = y2 - dy * shrink
        return "<line x1=\"\(sx)\" y1=\"\(sy)\" x2=\"\(ex)\" y2=\"\(ey)\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "") marker-end=\"url(#arrow)\"><title>\(label)</title></line>\n"
            + "<text x=\"\((sx + ex) / 2)\" y=\"\((sy + ey) / 2 - 6)\" font-size=\"10\" fill=\"\(color)\" text-anchor=\"middle\">\(label)</text>\n"
    }

    static func faultsTable(_ faults: FaultOptions) -> String {
        var rows: [String] = ["<tr><td>profile</td><td>\(escape(faults.profile))</td></tr>"]
        let network = faults.network
        rows.append("<tr><td>network</td><td>latency \(escape(network.latency.description)); drop \(network.dropProbability), duplicate \(network.duplicateProbability), reorder \(network.reorderProbability)</td></tr>")
        rows.append("<tr><td>disk</td><td>torn writes \(faults.disk.tornWriteProbability); sync latency \(escape(faults.disk.syncLatency.description))</td></tr>")
        for crash in faults.crashes {
            rows.append("<tr><td>crash</td><td>\(escape(crash.node)) at \(crash.atMs) ms, restart after \(crash.restartAfterMs) ms</td></tr>")
        }
        for partition in faults.partitions {
            rows.append("<tr><td>partition</td><td>[\(escape(partition.sideA.joined(separator: ", ")))] | [\(escape(partition.sideB.joined(separator: ", ")))] at \(partition.atMs) ms for \(partition.durationMs) ms</td></tr>")
        }
        for (node, skew) in faults.clockSkewMs.sorted(by: { $0.key < $1.key }) {
            rows.append("<tr><td>clock skew</td><td>\(escape(node)) \(skew) ms</td></tr>")
        }
        rows.append("<tr><td>heal</td><td>all faults heal at \(faults.healAtMs) ms</td></tr>")
        return "<table id=\"faults\">\n" + rows.joined(separator: "\n") + "\n</table>"
    }

    static func color(kind: String) -> String {
        if kind.hasPrefix("lock") { return "#f9a825" }
        if kind.hasPrefix("node") { return "#c62828" }
        if kind.hasPrefix("net.drop") { return "#9e9e9e" }
        if kind.hasPrefix("net") { return "#90caf9" }
        if kind.hasPrefix("ps") { return "#2e7d32" }
        if kind.hasPrefix("worker") { return "#6a1b9a" }
        if kind.hasPrefix("storage") || kind.hasPrefix("checkpoint") { return "#ef6c00" }
        return "#607d8b"
    }

    /// One lane per node; ticks for events (coloured by kind), shaded spans while a node was down,
    /// a red line at the failure.
    /// The legend of the timeline's colours, in the order `color(kind:)` tests them.
    static let legend: [(label: String, kinds: String, color: String)] = [
        ("locks", "lock.*", "#f9a825"), ("crashes and restarts", "node.*", "#c62828"), ("dropped messages", "net.drop", "#9e9e9e"),
        ("messages", "net.*", "#90caf9"), ("parameter servers", "ps.*", "#2e7d32"), ("workers", "worker.*", "#6a1b9a"),
        ("storage and checkpoints", "storage.*, checkpoint.*", "#ef6c00"), ("everything else", "", "#607d8b"),
    ]
    /// At most this many events are drawn (the last ones); the page says when it cut.
    static let timelineLimit = 5000

    static func timeline(records: [TraceRecord], nodes: [String], faults: FaultOptions, end: Int64, failureAt: Int64?) -> String {
        var prefix = "<p id=\"legend\" class=\"muted\">" + legend.map { entry in
            "<span style=\"display:inline-block;width:10px;height:10px;background:\(entry.color)\"></span> \(escape(entry.label))"
                + (entry.kinds.isEmpty ? "" : " (\(escape(entry.kinds)))")
        }.joined(separator: " &nbsp; ") + "; shaded: a node down; red line: the failure</p>\n"
        if records.count > timelineLimit {
            let from = records[records.count - timelineLimit].time
            prefix += "<p id=\"timeline-cut\" class=\"muted\">Only the last \(timelineLimit) of \(records.count) events are drawn, from \(formatNanoseconds(from)) on; the earlier ones are in the trace (<code>simrun replay FILE --trace t.json</code>).</p>\n"
        }
        return prefix + timelineSVG(records: records, nodes: nodes, faults: faults, end: end, failureAt: failureAt)
    }

    static func timelineSVG(records: [TraceRecord], nodes: [String], faults: FaultOptions, end: Int64, failureAt: Int64?) -> String {
        let lanes = nodes + ["-"]
        let width = 1100.0, left = 110.0, laneHeight = 26.0
        let height = Double(lanes.count) * laneHeight + 40
        let span = Double(Swift.max(end, 1))
        func x(_ time: Int64) -> Double { left + (width - left - 10) * Double(time) / span }
        var svg = "<svg id=\"timeline\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        for (index, lane) in lanes.enumerated() {
            let y = 20 + Double(index) * laneHeight
            svg += "<text x=\"4\" y=\"\(y + 15)\" font-size=\"11\">\(escape(lane == "-" ? "(kernel)" : lane))</text>"
            svg += "<line x1=\"\(left)\" y1=\"\(y + laneHeight / 2)\" x2=\"\(width - 10)\" y2=\"\(y + laneHeight / 2)\" stroke=\"#eee\"/>\n"
            for crash in faults.crashes where crash.node == lane {
                let from = x(crash.atMs * Nanos.millisecond), to = x(Swift.min(end, (crash.atMs + crash.restartAfterMs) * Nanos.millisecond))
                svg += "<rect class=\"down\" x=\"\(from)\" y=\"\(y + 2)\" width=\"\(Swift.max(1, to - from))\" height=\"\(laneHeight - 4)\" fill=\"#ffcdd2\"><title>\(escape(lane)) down</title></rect>\n"
            }
        }
        let laneIndex = Dictionary(uniqueKeysWithValues: lanes.enumerated().map { ($1, $0) })  // lookups only
        for record in records.suffix(timelineLimit) {
            guard let index = laneIndex[record.node] else { continue }
            let y = 20 + Double(index) * laneHeight
            svg += "<rect x=\"\(x(record.time))\" y=\"\(y + 5)\" width=\"1.5\" height=\"\(laneHeight - 10)\" fill=\"\(color(kind: record.kind))\"><title>\(formatNanoseconds(record.time)) \(escape(record.kind)) \(escape(record.detail))</title></rect>\n"
        }
        if let failureAt {
            svg += "<line id=\"failure-line\" x1=\"\(x(failureAt))\" y1=\"10\" x2=\"\(x(failureAt))\" y2=\"\(height - 10)\" stroke=\"#c62828\" stroke-width=\"2\"/>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 4)\" font-size=\"10\" fill=\"#666\">0 s</text><text x=\"\(width - 60)\" y=\"\(height - 4)\" font-size=\"10\" fill=\"#666\">\(formatNanoseconds(end))</text>\n"
        return svg + "</svg>"
    }
}

#if canImport(Glibc)
import Glibc
#endif
func cosine(_ x: Double) -> Double { cos(x) }
func sine(_ x: Double) -> Double { sin(x) }
