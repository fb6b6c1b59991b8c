import Foundation
import SimKernel

/// A progress line on standard error for a long single run on a terminal: virtual time against
/// the horizon, events, and the wall time so far, redrawn at most twice a second and only after
/// the run has taken two seconds (short runs print nothing).
final class TerminalProgress {
    let horizon: Int64
    let start = KernelBenchmark.wallSeconds()
    var lastDrawn = 0.0
    var drawn = false

    init(horizonNanoseconds: Int64) { horizon = Swift.max(1, horizonNanoseconds) }

    func show(virtual now: Int64, events: UInt64) {
        let wall = KernelBenchmark.wallSeconds() - start  // determinism-ok: display only, never read by the simulation
        guard wall >= 2, wall - lastDrawn >= 0.5 else { return }
        lastDrawn = wall
        drawn = true
        let percent = Swift.min(100, Int(Double(now) / Double(horizon) * 100))
        let line = "\r  running: \(formatNanoseconds(now)) of \(formatNanoseconds(horizon)) virtual (\(percent) %), \(events) events, \(Int(wall)) s wall   "
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Erases the line, if one was drawn.
    func clear() {
        guard drawn else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 100) + "\r").utf8))
    }
}
