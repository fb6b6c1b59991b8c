import XCTest
@testable import SimKernel

/// An M/M/1 queue built on the kernel (arrival and server processes as tasks that sleep in
/// virtual time): a check of the event loop, the clock and the exponential draws against theory.
final class MM1QueueTests: XCTestCase {
    /// Arrival rate 0.9, service rate 1.0 (per second): the mean time in system is
    /// 1 / (mu - lambda) = 10 s.
    ///
    /// 400,000 customers after 20,000 of warm-up, in 20 batches of 20,000. The batches are far
    /// longer than the queue's relaxation time (about 1 / (mu (1 - sqrt(rho))^2) = 380 s, some 340
    /// customers), so batch means are nearly independent; their t-interval at 99.9 %
    /// (t(19, 0.9995) = 3.883) must contain 10, and must be narrower than +-1.5 s to mean anything.
    func testMeanTimeInSystemMatchesTheory() {
        var options = SimulationOptions()
        options.maxTime = Int64.max
        options.traceRingCapacity = 0
        let simulation = Simulation(seed: 2024, options: options)
        let warmUp = 20_000, batches = 20, batchSize = 20_000
        let total = warmUp + batches * batchSize
        var waiting: [Int64] = []  // arrival times of customers in the queue
        var head = 0
        var serverIdle: UnsafeContinuation<Void, Never>?
        var sojourns: [Double] = []
        sojourns.reserveCapacity(batches * batchSize)
        simulation.spawn {  // arrivals
            for _ in 0 ..< total {
                let gap = simulation.withRandom(stream: "arrivals") { $0.exponential(meanNanoseconds: 1_111_111_111) }  // 1 / 0.9 s
                try? await simulation.sleep(nanoseconds: gap)
                waiting.append(simulation.now)
                if let idle = serverIdle { serverIdle = nil; idle.resume() }
            }
        }
        simulation.spawn {  // the server
            var served = 0
            while served < total {
                if head == waiting.count { await withUnsafeContinuation { serverIdle = $0 } }
                let arrived = waiting[head]
                head += 1
                let service = simulation.withRandom(stream: "service") { $0.exponential(meanNanoseconds: Nanos.second) }
                try? await simulation.sleep(nanoseconds: service)
                served += 1
                if served > warmUp { sojourns.append(Double(simulation.now - arrived) / 1e9) }
            }
        }
        XCTAssertEqual(simulation.run(), .passed)
        XCTAssertEqual(sojourns.count, batches * batchSize)
        let means = (0 ..< batches).map { b in sojourns[b * batchSize ..< (b + 1) * batchSize].reduce(0, +) / Double(batchSize) }
        let grand = means.reduce(0, +) / Double(batches)
        let variance = means.map { ($0 - grand) * ($0 - grand) }.reduce(0, +) / Double(batches - 1)
        let halfWidth = 3.883 * (variance / Double(batches)).squareRoot()
        XCTAssertLessThan(abs(grand - 10), halfWidth, "mean \(grand) s, 99.9 % half-width \(halfWidth) s")
        XCTAssertLessThan(halfWidth, 1.5, "the interval is too wide to test anything: \(halfWidth)")
    }
}
