import SimKernel

/// Loops over the simulated infrastructure, for `simrun bench --infra`: wall-clock throughput of
/// the simulator doing real work (SQLite over the simulated disk, the broker's logs), not a
/// model of production speed.
public enum InfrastructureBenchmark {
    /// `count` single-row insert-and-commit transactions (safe durability: each one fsyncs).
    public static func sqlInsertCommit(count: Int) -> KernelBenchmark.Measurement {
        let simulation = Simulation(seed: 1)
        let db = simulation.addNode("bench-db"), app = simulation.addNode("app")
        db.addProcess("sql") { await SQLServer.run(database: "bench", context: $0) }
        var done = 0
        app.addProcess("client") { context in
            let client = SQLClient(address: Address(node: db.id, service: "sql"))
            _ = await client.transaction([SQLStatement("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")], context: context)
            for i in 0 ..< count {
                if case .success = await client.transaction([SQLStatement("INSERT INTO t VALUES (?, ?)", [.integer(Int64(i)), .text("row \(i)")])], context: context) { done += 1 }
            }
        }
        let start = KernelBenchmark.wallSeconds()
        simulation.run()
        return KernelBenchmark.Measurement(operations: UInt64(done), seconds: KernelBenchmark.wallSeconds() - start, checksum: simulation.trace.fingerprint)
    }

    /// `count` iterations of: produce one record (acks=all), fetch it back.
    public static func kafkaProduceConsume(count: Int) -> KernelBenchmark.Measurement {
        let simulation = Simulation(seed: 1)
        let broker = simulation.addNode("kafka"), app = simulation.addNode("app")
        broker.addProcess("kafka") { await KafkaBroker.run(context: $0) }
        var done = 0
        app.addProcess("client") { context in
            let client = KafkaClient(broker: Address(node: broker.id, service: "kafka"))
            _ = await client.createTopic("bench", partitions: 1, context: context)
            for i in 0 ..< count {
                guard case .success(let produced) = await client.produce("bench", key: "k", value: Array("record \(i)".utf8), context: context),
                      case .success(let records) = await client.fetch(TopicPartition("bench", produced.partition), from: produced.offset, max: 1, context: context),
                      records.count == 1 else { continue }
                done += 1
            }
        }
        let start = KernelBenchmark.wallSeconds()
        simulation.run()
        return KernelBenchmark.Measurement(operations: UInt64(done), seconds: KernelBenchmark.wallSeconds() - start, checksum: simulation.trace.fingerprint)
    }
}
