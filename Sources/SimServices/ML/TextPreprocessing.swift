import SimKernel

/// The text pre-processing a text model was trained with, shared by training (which writes it into
/// the model's artifact) and inference (which must apply the same to a request's text): a word
/// tokenizer over a hashed vocabulary, then a fixed-length sequence, truncated or padded.
///
/// Tokens: the text lower-cased and split at every character that is not an ASCII letter or digit;
/// each word's id is `1 + FNV-1a-64(word) mod (vocabulary - 1)`, id 0 being the padding token. The
/// sequence keeps the first `length` ids and pads the rest with 0 on the side the model was trained
/// with; the model's inputs are the ids scaled by the vocabulary (`id / vocabulary`, in [0, 1)).
/// Which side is padded matters to any model whose weights are per position: the same words, moved
/// by the padding, meet other weights (the brief's M10, where serving padded on the other side).
public struct TextPreprocessing: Hashable, Sendable {
    public enum Padding: String, Sendable, Hashable, CaseIterable {
        case right, left
    }

    /// Tokens per sequence (the model's input width).
    public var length: Int
    /// Ids 0 ..< vocabulary (0: padding).
    public var vocabulary: Int
    /// The side the padding goes.
    public var padding: Padding

    public init(length: Int, vocabulary: Int, padding: Padding = .right) {
        precondition(length > 0 && vocabulary > 1, "a sequence of \(length) tokens over a vocabulary of \(vocabulary) ids")
        self.length = length
        self.vocabulary = vocabulary
        self.padding = padding
    }

    /// The text's token ids, in order, before truncation and padding.
    public func tokens(_ text: String) -> [Int] {
        var ids: [Int] = [], word: [UInt8] = []
        func flush() {
            if !word.isEmpty { ids.append(1 + Int(stableHash(word) % UInt64(vocabulary - 1))) }
            word.removeAll(keepingCapacity: true)
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"): word.append(byte + 32)
            case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "0") ... UInt8(ascii: "9"): word.append(byte)
            default: flush()
            }
        }
        flush()
        return ids
    }

    /// The sequence of exactly `length` ids: the first `length` tokens, padded with 0 on the side
    /// `padding` names (the model's own unless a caller overrides it).
    public func sequence(_ text: String, padding: Padding? = nil) -> [Int] {
        let kept = Array(tokens(text).prefix(length))
        let pad = [Int](repeating: 0, count: length - kept.count)
        return (padding ?? self.padding) == .right ? kept + pad : pad + kept
    }

    /// The model's inputs for `text`: each id of the sequence over the vocabulary.
    public func inputs(_ text: String, padding: Padding? = nil) -> [Float] {
        sequence(text, padding: padding).map { Float($0) / Float(vocabulary) }
    }

    /// As an artifact records it: `length=8,vocabulary=64,padding=right`.
    public var encoded: String { "length=\(length),vocabulary=\(vocabulary),padding=\(padding.rawValue)" }

    /// Parses `encoded`'s form (every field, each once, nothing else); nil otherwise.
    public init?(decoding text: String) {
        var fields: [String: String] = [:]
        for pair in text.splitBytes(",", omittingEmptySubsequences: false) {
            let parts = pair.splitBytes("=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, fields[parts[0]] == nil else { return nil }
            fields[parts[0]] = parts[1]
        }
        guard fields.count == 3, let length = fields["length"].flatMap({ Int($0) }), (1 ... 4096).contains(length),
              let vocabulary = fields["vocabulary"].flatMap({ Int($0) }), (2 ... 1 << 24).contains(vocabulary),
              let padding = fields["padding"].flatMap({ Padding(rawValue: $0) }) else { return nil }
        self.init(length: length, vocabulary: vocabulary, padding: padding)
    }
}
