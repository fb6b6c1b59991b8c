/// The brief's bug IDs the simulator reproduces. Each is a real alternative code path beside the
/// correct one in service code, switched on per run.
public enum DefectID: String, CaseIterable, Codable, Sendable, Comparable {
    case A1, A2, A9, F10, X1
    public static func < (a: DefectID, b: DefectID) -> Bool { a.rawValue < b.rawValue }
}

/// One catalogue entry.
public struct DefectEntry: Sendable {
    public var id: DefectID
    public var title: String
    public var services: [String]
    public var symptom: String
    public var scenario: String
    /// The checker that catches it.
    public var checker: String
}

/// The defect catalogue (grows with the brief's IDs issue by issue).
public enum DefectCatalogue {
    public static let entries: [DefectEntry] = [
        DefectEntry(id: .A1, title: "parameter-server race: unlocked read-modify-write of a shard loses updates",
                    services: ["training/parameter-server"],
                    symptom: "a shard's parameters differ from the replay of its update log; applied updates vanish",
                    scenario: "05_distributed_training_hang", checker: "ps-consistency"),
        DefectEntry(id: .A2, title: "lock-ordering deadlock: odd workers take the shard locks of a snapshot in reverse order",
                    services: ["workers", "training/parameter-server"],
                    symptom: "training hangs at a checkpoint boundary; two workers each hold one shard lock and wait for the other",
                    scenario: "05_distributed_training_hang", checker: "deadlock"),
        DefectEntry(id: .A9, title: "unbounded staleness: the parameter server serves pulls without the SSP bound",
                    services: ["training/parameter-server"],
                    symptom: "fast workers read parameters more than s clocks ahead of the slowest; loss oscillates",
                    scenario: "05_distributed_training_hang", checker: "staleness"),
        DefectEntry(id: .F10, title: "lock ordering: a worker's progress report takes its worker lock before the job lock",
                    services: ["workers", "scheduler"],
                    symptom: "the scheduler's health sweep and a worker's progress report wait for each other forever",
                    scenario: "05_distributed_training_hang", checker: "deadlock"),
        DefectEntry(id: .X1, title: "checkpoint corruption: every worker saves the checkpoint, through one shared temp file",
                    services: ["workers", "storage"],
                    symptom: "a committed checkpoint fails its checksum (interleaved chunks of two writers); resume falls back further",
                    scenario: "05_distributed_training_hang", checker: "checkpoint-integrity"),
    ]

    public static func entry(_ id: DefectID) -> DefectEntry { entries.first { $0.id == id }! }
}

/// The defects switched on in a run.
public struct DefectSet: Hashable, Sendable, Codable, CustomStringConvertible {
    public var ids: [DefectID]
    public init(_ ids: [DefectID]) { self.ids = Array(Set(ids)).sorted() }
    public static let empty = DefectSet([])
    public func contains(_ id: DefectID) -> Bool { ids.contains(id) }
    public var description: String { ids.isEmpty ? "none" : ids.map(\.rawValue).joined(separator: ",") }
}
