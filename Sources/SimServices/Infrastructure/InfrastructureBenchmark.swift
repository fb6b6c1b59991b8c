import SimKernel

/// Loops over the simulated infrastructure, for `simrun bench --infra`: wall-clock throughput of
/// the simulator doing real work (SQLite over the simulated disk, the broker's logs), not a
/// model of production speed.
public enum InfrastructureBenchmark {
    /// A request of the messaging benchmark: a counter, with a digest as cheap as a message's
    /// can be (the platform's messages digest their bodies; this one measures the path alone).
    struct Ping: SimMessage {
        var value: Int
        var traceDigest: UInt64 { UInt64(truncatingIfNeeded: value) }
        var traceSummary: String { "ping" }
    }

    /// `count` request-reply round trips between two nodes through the kernel's network (a send,
    /// an arrival and a task resumption each way, one mailbox, one pending call with its timer),
    /// with no service work on either side and no trace details: the messaging layer's own cost,
    /// the floor under every message a scenario sends. Two messages a round trip.
    public static func rpcRoundTrips(count: Int) -> KernelBenchmark.Measurement {
        // Without trace details, as scenario runs are benchmarked (`runWithoutDetails`).
        var options = SimulationOptions()
        options.traceRingCapacity = 0
        let simulation = Simulation(seed: 1, options: options)
        let server = simulation.addNode("echo"), app = simulation.addNode("app")
        server.addProcess("echo") { context in
            let inbox = context.mailbox("echo")
            while true {
                let request = await inbox.receive()
                context.reply(to: request, Ping(value: (request.payload as? Ping)?.value ?? -1))
            }
        }
        var done = 0
        app.addProcess("client") { context in
            let echo = Address(node: server.id, service: "echo")
            for i in 0 ..< count {
                if case .success(let reply) = await context.call(echo, Ping(value: i), timeout: Nanos.second), (reply.payload as? Ping)?.value == i { done += 1 }
            }
        }
        let start = KernelBenchmark.wallSeconds()
        simulation.run()
        return KernelBenchmark.Measurement(operations: UInt64(done), seconds: KernelBenchmark.wallSeconds() - start, checksum: simulation.trace.fingerprint)
    }

    /// `count` signed hops: a prediction request as the gateway forwards it (the caller's
    /// identity, a five-field body) signed for its destination with HMAC-SHA256 and checked there,
    /// as every request between services is (`ForwardedIdentity.sign` and `verify`, without the
    /// replay cache's look-up). The mesh's cost per request, apart from the messaging.
    public static func signedHops(count: Int) -> KernelBenchmark.Measurement {
        let audience = NodeID(7)
        // Built before the clock starts: building a request is the caller's work, not the mesh's.
        let requests = (0 ..< count).map(predictionRequest)
        let nonces = (0 ..< count).map { "n3.0.\($0)" }
        let start = KernelBenchmark.wallSeconds()
        var done = 0, checksum: UInt64 = 0
        for (i, original) in requests.enumerated() {
            var request = original
            let signedAt = Int64(i) * Nanos.millisecond
            ForwardedIdentity.sign(&request, at: signedAt, for: audience, nonce: nonces[i])
            if ForwardedIdentity.verify(request, now: signedAt + Nanos.millisecond, audience: audience) == nil {
                done += 1
                checksum &+= UInt64(request.headers[ForwardedIdentity.header]?.utf8.first ?? 0)
            }
        }
        return KernelBenchmark.Measurement(operations: UInt64(done), seconds: KernelBenchmark.wallSeconds() - start, checksum: checksum)
    }

    /// `count` HMAC-SHA256 tags of a signed hop's text alone (the bytes `signedHops` signs, made
    /// beforehand): the part of a signature no encoding work can take away. A hop takes two, the
    /// signer's and the checker's.
    public static func hmacsOfSignedText(count: Int) -> KernelBenchmark.Measurement {
        let texts = (0 ..< min(count, 1_000)).map { i in
            var request = predictionRequest(i)
            ForwardedIdentity.sign(&request, at: Int64(i) * Nanos.millisecond, for: NodeID(7), nonce: "n3.0.\(i)")
            return ForwardedIdentity.signedText(request, time: String(Int64(i) * Nanos.millisecond))
        }
        let start = KernelBenchmark.wallSeconds()
        var checksum: UInt64 = 0
        for i in 0 ..< count { checksum &+= UInt64(ForwardedIdentity.meshKey.mac(texts[i % texts.count])[i % 32]) }
        return KernelBenchmark.Measurement(operations: UInt64(count), seconds: KernelBenchmark.wallSeconds() - start, checksum: checksum)
    }

    /// A prediction request as the gateway forwards it: the caller's identity and a five-field body.
    static func predictionRequest(_ i: Int) -> HTTPRequest {
        HTTPRequest("POST", "inference/predict", body: [
            "model": "fraud-detector", "version": "\(i % 60 + 1)", "features": "amount=\(i % 977),merchant=\(i % 31),hour=\(i % 24)",
            "request_id": "r-\(i)", "tenant": "t1",
        ], headers: ["x-user": "alice", "x-tenant": "t1", "x-role": "analyst", "authorization": "Bearer benchmark"])
    }

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
