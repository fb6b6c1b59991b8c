import SimKernel

/// Request batching (the brief's "batch inference optimization"): requests on one version join a
/// forming batch; the batch closes when it holds `maxSize` requests or `maxWait` after its first
/// request joined, whichever comes first, and is computed at once (one pass over the stacked
/// inputs: the compute time of one prediction plus a small cost per extra row). Every member gets
/// its own row's answer.
///
/// B2 ("batching timeout too short"): when the wait ends on a batch that is not full, the batch is
/// dropped instead of computed; its requests never get an answer (their callers time out).
public final class PredictionBatch: @unchecked Sendable {  // confined to its simulation's thread
    public let id: UInt64
    public let key: ModelKey
    /// The members' inputs, in the order they joined, and their ticket numbers.
    public private(set) var inputs: [[Float]] = []
    public private(set) var tickets: [UInt64] = []
    /// Set once when the batch closes (by size, or by its wait).
    public private(set) var isClosed = false
    /// The answers, one per member (nil until computed, or for ever when dropped), or the error
    /// every member gets.
    var results: [Float]?
    var failure: ServiceError?
    let done = Signal()

    init(id: UInt64, key: ModelKey) {
        self.id = id
        self.key = key
    }

    func add(_ input: [Float], ticket: UInt64) -> Int {
        inputs.append(input)
        tickets.append(ticket)
        return inputs.count - 1
    }

    /// Closes the batch; false when it was closed already (by the other trigger).
    func close() -> Bool {
        guard !isClosed else { return false }
        isClosed = true
        return true
    }

    /// Delivers the answers (or an error) to every member.
    func finish(results: [Float]?, failure: ServiceError?) {
        self.results = results
        self.failure = failure
        done.open()
    }

    /// The answer of member `index`, once the batch is finished.
    func answer(_ index: Int) async throws(ServiceError) -> Float {
        await done.wait()
        if let failure { throw failure }
        guard let results, index < results.count else { throw .internalError("batch \(id) of \(key) has no answer for row \(index)") }
        return results[index]
    }
}

/// A replica's forming batches, one per version.
public struct PredictionBatcher: Sendable {
    public let maxSize: Int
    public let maxWaitMillis: Int
    private var forming: [ModelKey: PredictionBatch] = [:]
    private var nextBatch: UInt64 = 0

    public init(maxSize: Int, maxWaitMillis: Int) {
        precondition(maxSize >= 1 && maxWaitMillis >= 0, "a batch holds at least one request and waits 0 ms or more, got \(maxSize), \(maxWaitMillis) ms")
        self.maxSize = maxSize
        self.maxWaitMillis = maxWaitMillis
    }

    /// Adds a request's inputs to `key`'s forming batch (opening one if none): the batch, the
    /// member's row, whether this request opened it (and so times its wait) and whether it filled
    /// it (and so closes and computes it).
    public mutating func join(_ key: ModelKey, inputs: [Float], ticket: UInt64) -> (batch: PredictionBatch, row: Int, opened: Bool, filled: Bool) {
        var opened = false
        if forming[key] == nil {
            nextBatch += 1
            forming[key] = PredictionBatch(id: nextBatch, key: key)
            opened = true
        }
        let batch = forming[key]!
        let row = batch.add(inputs, ticket: ticket)
        let filled = batch.inputs.count >= maxSize
        if filled { forming[key] = nil }
        return (batch, row, opened, filled)
    }

    /// Takes `batch` out of the forming ones when its wait ends (it may have filled already).
    public mutating func waitEnded(_ batch: PredictionBatch) {
        if forming[batch.key] === batch { forming[batch.key] = nil }
    }
}
