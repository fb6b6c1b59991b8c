/// Fault points in simulated code, keyed by call site, as in FoundationDB's `BUGGIFY`.
///
/// When a run has buggify on, each call site is *activated* once per run with probability
/// `activation` (decided from (seed, site), so the order in which sites are reached does not
/// matter), and an activated site then fires with the probability given at the call.
public final class Buggify {
    unowned let simulation: Simulation
    /// Probability that a call site is active in a run.
    public var activation = Ratio(1, 4)
    var random: SimRandom
    var activeSites: [UInt64: Bool] = [:]
    /// How often each site fired (`file:line` -> count): which fault paths a run really reached.
    public private(set) var firedCounts: [String: Int] = [:]

    init(simulation: Simulation) {
        self.simulation = simulation
        random = simulation.random(stream: "buggify")
    }

    /// Whether the site is active in this run.
    public func isActive(file: String, line: UInt) -> Bool {
        guard simulation.options.buggify else { return false }
        let site = stableHash("\(file):\(line)")
        if let known = activeSites[site] { return known }
        var decision = SimRandom(seed: mix64(simulation.seed, site))
        let active = decision.chance(activation)
        activeSites[site] = active
        return active
    }

    func shouldFire(_ probability: Ratio, file: String, line: UInt) -> Bool {
        guard isActive(file: file, line: line), random.chance(probability) else { return false }
        let key = "\(file):\(line)"
        firedCounts[key, default: 0] += 1
        simulation.record(.buggify, actor: "buggify", payload: stableHash(key), key)
        return true
    }

    /// Sites that fired, sorted.
    public var firedSites: [String] { firedCounts.keys.sorted() }
}

extension Simulation {
    /// The run's buggify state.
    public var buggifier: Buggify { component(Buggify.self) { Buggify(simulation: self) } }

    /// True when this call site is active in the run and fires now. Always false unless
    /// `SimulationOptions.buggify` is on.
    public func buggify(_ probability: Ratio = Ratio(1, 4), file: StaticString = #fileID, line: UInt = #line) -> Bool {
        guard options.buggify else { return false }
        return buggifier.shouldFire(probability, file: "\(file)", line: line)
    }
}

extension TraceKind {
    public static let buggify = TraceKind("buggify")
}
