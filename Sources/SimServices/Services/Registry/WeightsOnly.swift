/// The model file formats the platform accepts: weights only, nothing executable. A serving
/// artifact (`ModelArtifact`, text) or a training checkpoint (`Checkpoint`, binary with its
/// CRC-32). The registry refuses to register anything else, and inference refuses to load it;
/// in particular a pickle stream (`LegacyPickle`), whose loading can run its author's code (I3).
public enum WeightsOnly {
    /// What `bytes` are, as far as the platform's formats go.
    public enum Format: String, Sendable, Equatable {
        case servingArtifact = "serving artifact", checkpoint, pickle = "pickle stream", unknown = "unknown format"
        public var isWeightsOnly: Bool { self == .servingArtifact || self == .checkpoint }
    }

    public static func format(of bytes: [UInt8]) -> Format {
        if ModelArtifact(decoding: bytes) != nil { return .servingArtifact }
        if (try? Checkpoint.decode(bytes)) != nil { return .checkpoint }
        return LegacyPickle.looksLikePickle(bytes) ? .pickle : .unknown
    }
}
