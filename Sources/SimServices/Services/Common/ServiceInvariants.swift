import SimKernel

/// What a service's invariants may look at after a run: its databases, read through a fresh
/// connection on the database node's disk (what a restarted process would find), and the
/// platform's observations.
public struct ServiceStateView {
    public let simulation: Simulation
    let topology: Topology
    /// Connections kept open between queries when the owner will `close()` the view: opening a
    /// database (its pragmas, its schema) cost more than the invariants' queries themselves.
    let connections: ConnectionCache?

    /// A view; with `reusingConnections`, each database is opened once and kept open until
    /// `close()`, which the owner must call before the simulation goes away.
    public init(simulation: Simulation, topology: Topology, reusingConnections: Bool = false) {
        self.simulation = simulation
        self.topology = topology
        connections = reusingConnections ? ConnectionCache() : nil
    }

    /// Closes the connections this view kept open.
    public func close() {
        guard let connections else { return }
        simulation.inspect {
            for name in connections.open.keys.sorted() { connections.open[name]?.close() }
            connections.open.removeAll()
        }
    }

    final class ConnectionCache {
        var open: [String: SQLConnection] = [:]
    }

    private func connection(node: String, database: String) -> SQLConnection? {
        let key = "\(node)/\(database)"
        if let kept = connections?.open[key] { return kept }
        guard let fresh = try? SQLConnection(node: node, file: "\(database).db") else { return nil }
        connections?.open[key] = fresh
        return fresh
    }

    /// The rows of `sql` on `database`, or nil when the database cannot be read now (no such
    /// node, its file missing, or a transaction still holding it at the horizon).
    public func rows(_ database: String, _ sql: String, _ parameters: [SQLValue] = []) -> [[SQLValue]]? {
        guard let node = topology.nodes(role: database).first?.name, simulation.node(named: node)?.disk.exists("\(database).db") == true else { return nil }
        return simulation.inspect { () -> [[SQLValue]]? in
            guard let connection = connection(node: node, database: database) else { return nil }
            defer { if connections == nil { connection.close() } }
            return try? connection.execute(SQLStatement(sql, parameters)).rows
        }
    }

    /// An object of the object store as a GET would return it: `.success(bytes)`, `.failure` with
    /// why not (missing, or failing its checksum), or nil when there is no object store node.
    public func object(bucket: String, key: String) -> Result<[UInt8], ObjectProblem>? {
        guard let node = topology.nodes(role: "minio").first.flatMap({ simulation.node(named: $0.name) }) else { return nil }
        guard let stored = try? node.disk.readAll("buckets/\(bucket)/o/\(key)") else { return .failure(.missing) }
        guard stored.count >= 4 else { return .failure(.corrupt) }
        var reader = ByteReader(Array(stored.prefix(4)))
        let bytes = Array(stored.dropFirst(4))
        return reader.u32() == crc32(bytes) ? .success(bytes) : .failure(.corrupt)
    }

    /// Keys of a bucket's objects, sorted.
    public func objectKeys(bucket: String) -> [String] {
        guard let node = topology.nodes(role: "minio").first.flatMap({ simulation.node(named: $0.name) }) else { return [] }
        let base = "buckets/\(bucket)/o/"
        return node.disk.list(prefix: base).filter { !$0.hasSuffix(".tmp") }.map { String($0.dropFirst(base.count)) }.sorted()
    }

    public enum ObjectProblem: Error { case missing, corrupt }

    /// Whether the service's tables exist yet (a service that never started has none).
    public func hasTable(_ database: String, _ table: String) -> Bool {
        (rows(database, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)])?.count ?? 0) == 1
    }
}

/// Each service's invariants, kept in the service's own folder (`<Service>Invariants.swift`) and
/// registered here by service name. Each returns the violations it finds, one line each, naming
/// the rows at fault.
public enum ServiceInvariants {
    public static let all: [(service: String, check: @Sendable (ServiceStateView) -> [String])] = [
        ("admin", AdminService.invariants), ("auth", AuthService.invariants), ("experiments", ExperimentsService.invariants),
        ("models", ModelsService.invariants), ("monitoring", MonitoringService.invariants), ("pipeline", PipelineService.invariants),
        ("registry", RegistryService.invariants), ("scheduler", SchedulerService.invariants), ("training", TrainingService.invariants),
        ("webhooks", WebhooksService.invariants), ("workers", WorkersService.invariants), ("gateway", GatewayService.invariants),
        ("inference", InferenceService.invariants), ("features", FeaturesService.invariants), ("storage", StorageService.invariants),
    ]
}

extension SQLValue {
    /// The value as a message shows it: text as it is, numbers in decimal.
    public var plain: String { text ?? description }
}
