/// How a tensor is cut into parts: the ring all-reduce's chunks and the model-parallel layout of a
/// sharded checkpoint.
public enum TensorSplit {
    /// `count` elements cut into `parts` contiguous ranges whose sizes differ by at most one (the
    /// first `count % parts` ranges get the extra element), covering every element once.
    public static func ranges(count: Int, parts: Int) -> [Range<Int>] {
        precondition(parts > 0, "a split into \(parts) parts")
        let base = count / parts, extra = count % parts
        var ranges: [Range<Int>] = []
        var start = 0
        for part in 0 ..< parts {
            let size = base + (part < extra ? 1 : 0)
            ranges.append(start ..< start + size)
            start += size
        }
        return ranges
    }
}

/// Tensor-parallel sharding of a model whose flat parameter vector is a sequence of layers: rank
/// r of `parts` holds its slice of every layer (Megatron's column split), so a layer never has to
/// be reassembled from another layer's elements. `merge` is the inverse of `split`.
///
/// Defect A4 (`boundaryDefect`): every slice is `size / parts` long and the last rank gets no
/// remainder, so the elements at the end of each layer whose size `parts` does not divide (the
/// bias of a one-element layer, entirely) belong to nobody: split-then-merge loses them.
public struct ModelParallelLayout: Sendable, Equatable {
    /// The sizes of the layers, in order (sum: the parameter count).
    public var layers: [Int]
    public var parts: Int
    public var boundaryDefect: Bool

    public init(layers: [Int], parts: Int, boundaryDefect: Bool = false) {
        precondition(parts > 0 && layers.allSatisfy { $0 >= 0 }, "layout of layers \(layers) in \(parts) parts")
        self.layers = layers
        self.parts = parts
        self.boundaryDefect = boundaryDefect
    }

    public var parameterCount: Int { layers.reduce(0, +) }

    /// The ranges of the flat vector that rank `rank` holds, one per layer.
    public func ranges(rank: Int) -> [Range<Int>] {
        var offset = 0
        var out: [Range<Int>] = []
        for size in layers {
            let slice: Range<Int>
            if boundaryDefect {
                let width = size / parts  // A4: the remainder of the layer is nobody's
                slice = rank * width ..< (rank + 1) * width
            } else {
                slice = TensorSplit.ranges(count: size, parts: parts)[rank]
            }
            out.append(offset + slice.lowerBound ..< offset + slice.upperBound)
            offset += size
        }
        return out
    }

    /// Rank `rank`'s shard: its slices of every layer, concatenated.
    public func split(_ tensor: [Float], rank: Int) -> [Float] {
        precondition(tensor.count == parameterCount, "a tensor of \(tensor.count) elements split by a layout of \(parameterCount)")
        return ranges(rank: rank).flatMap { tensor[$0] }
    }

    /// The flat vector from every rank's shard (in rank order); elements no shard holds are zero.
    /// Nil when a shard's length does not match the layout.
    public func merge(_ shards: [[Float]]) -> [Float]? {
        guard shards.count == parts else { return nil }
        var tensor = [Float](repeating: 0, count: parameterCount)
        for (rank, shard) in shards.enumerated() {
            let ranges = self.ranges(rank: rank)
            guard shard.count == ranges.reduce(0, { $0 + $1.count }) else { return nil }
            var cursor = 0
            for range in ranges {
                for index in range {
                    tensor[index] = shard[cursor]
                    cursor += 1
                }
            }
        }
        return tensor
    }
}
