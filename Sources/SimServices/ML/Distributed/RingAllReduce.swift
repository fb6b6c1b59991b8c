/// The schedule of a ring all-reduce (Baidu's ring, as in Horovod and NCCL) over `world` ranks:
/// the vector is cut into `world` chunks (`TensorSplit.ranges`); in each of the `world - 1`
/// reduce-scatter phases rank r sends one chunk to its successor and adds the chunk it receives
/// from its predecessor; after them rank r holds the complete sum of chunk (r + 1) mod world, and
/// the `world - 1` all-gather phases pass the complete chunks around the ring. Every rank sends
/// 2 (world - 1) / world of the vector, whatever the world size.
public enum RingSchedule {
    /// The number of phases (reduce-scatter then all-gather).
    public static func phases(world: Int) -> Int { 2 * (world - 1) }

    /// The chunk rank `rank` sends in phase `phase`.
    public static func sendChunk(rank: Int, phase: Int, world: Int) -> Int {
        let k = phase < world - 1 ? phase : phase - (world - 1)
        let offset = phase < world - 1 ? 0 : 1
        return ((rank + offset - k) % world + world) % world
    }

    /// The chunk rank `rank` receives in phase `phase` (what its predecessor sends).
    public static func receiveChunk(rank: Int, phase: Int, world: Int) -> Int {
        sendChunk(rank: (rank - 1 + world) % world, phase: phase, world: world)
    }

    /// Whether phase `phase` adds the received chunk (reduce-scatter) or replaces with it.
    public static func reduces(phase: Int, world: Int) -> Bool { phase < world - 1 }

    /// The whole ring run in one process on every rank's vector: the sums each rank ends with.
    /// The reference for the distributed exchange, which follows the same schedule.
    public static func allReduceSum(_ vectors: [[Float]]) -> [[Float]] {
        let world = vectors.count
        guard world > 1 else { return vectors }
        let count = vectors[0].count
        precondition(vectors.allSatisfy { $0.count == count }, "ring over vectors of different lengths")
        let chunks = TensorSplit.ranges(count: count, parts: world)
        var buffers = vectors
        for phase in 0 ..< phases(world: world) {
            // Every rank sends before any receives: the messages of a phase carry the senders' values.
            let outgoing = (0 ..< world).map { rank in Array(buffers[rank][chunks[sendChunk(rank: rank, phase: phase, world: world)]]) }
            for rank in 0 ..< world {
                let from = (rank - 1 + world) % world
                let range = chunks[receiveChunk(rank: rank, phase: phase, world: world)]
                for (offset, index) in range.enumerated() {
                    buffers[rank][index] = reduces(phase: phase, world: world) ? buffers[rank][index] + outgoing[from][offset] : outgoing[from][offset]
                }
            }
        }
        return buffers
    }
}
