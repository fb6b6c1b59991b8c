/// A checker's progress through logs kept by name (each replica's cache trace, each caller's
/// admissions), in name order: a check walks an array instead of sorting the names and looking
/// each up in tables of its own. The logs followed only ever gain names (their services append).
struct NameOrderedProgress<State> {
    /// One entry a log followed, in name order.
    private(set) var entries: [(name: String, state: State)] = []

    /// Starts following, with `start()`, each name of `logs` not followed yet.
    mutating func follow<Log>(_ logs: [String: Log], start: () -> State) {
        precondition(logs.count >= entries.count, "followed \(entries.count) logs by name, now \(logs.count): a log went away")
        guard logs.count != entries.count else { return }
        for name in logs.keys where !entries.contains(where: { $0.name == name }) { entries.append((name, start())) }
        entries.sort { $0.name < $1.name }
    }

    var indices: Range<Int> { entries.indices }

    /// The progress of the `index`th log in name order.
    subscript(index: Int) -> State {
        get { entries[index].state }
        _modify { yield &entries[index].state }
    }
}
