#if canImport(Glibc)
import Glibc
#endif

/// Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter; PyTorch's
/// `CosineAnnealingWarmRestarts`), stepped once per optimizer step *after* it:
/// `lr = etaMin + (base - etaMin) (1 + cos(pi Tcur / Ti)) / 2`, where the first period lasts `t0`
/// steps and each next one `tMult` times longer; at the end of a period `Tcur` goes back to 0.
/// M6 (`restartLate`) restarts one step late: `Tcur` is reset only once it passed `Ti`, so every
/// restart lands at period + 1 (the lr at the boundary is `etaMin`, not `base`).
public struct WarmRestartsSchedule: Sendable, Equatable {
    public var base: Double
    public var etaMin: Double
    public var t0: Int
    public var tMult: Int
    public var restartLate: Bool
    /// Steps into the current period, and its length.
    public private(set) var tCur = 0
    public private(set) var tI: Int

    public init(base: Double, etaMin: Double = 0, t0: Int, tMult: Int = 1, restartLate: Bool = false) {
        precondition(t0 >= 1 && tMult >= 1, "SGDR needs t0 >= 1 and tMult >= 1, got t0 \(t0), tMult \(tMult)")
        self.base = base
        self.etaMin = etaMin
        self.t0 = t0
        self.tMult = tMult
        self.restartLate = restartLate
        tI = t0
    }

    /// The rate for the coming optimizer step.
    public var rate: Double { etaMin + (base - etaMin) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2 }

    /// Advances one step (call after the optimizer's step).
    public mutating func step() {
        tCur += 1
        let due = restartLate ? tCur > tI : tCur >= tI
        if due {
            tCur -= restartLate ? tI + 1 : tI
            tI *= tMult
        }
    }
}
