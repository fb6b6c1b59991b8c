import SimKernel

/// The whole SynapseNet platform for cold starts: nine infrastructure nodes (Consul, Kafka, Redis,
/// MinIO, the search index, four SQL databases) and the fifteen services, one node each, every
/// node starting after a seed-chosen delay; plus a `client` node that sends each service's first
/// request through the gateway until it succeeds.
public struct ServicePlatform {
    public static let services = ["admin", "auth", "experiments", "features", "gateway", "inference", "models", "monitoring",
                                  "pipeline", "registry", "scheduler", "storage", "training", "webhooks", "workers"]
    public static let infrastructure = ["consul", "kafka", "redis", "minio", "search", "models-db", "users-db", "experiments-db", "metrics-db"]
    static let databases = ["models_db": "models-db", "users_db": "users-db", "experiments_db": "experiments-db", "metrics_db": "metrics-db"]

    /// The spec of `service` with `defects` applied.
    public static func spec(_ service: String, defects: DefectSet) -> ServiceSpec {
        var spec: ServiceSpec
        switch service {
        case "gateway": spec = GatewayService.spec
        case "auth": spec = AuthService.spec
        case "models": spec = ModelsService.spec
        case "registry": spec = RegistryService.spec(defects: defects)
        case "training": spec = TrainingAPI.spec
        case "inference": spec = InferenceService.spec
        case "features": spec = FeaturesService.spec
        case "pipeline": spec = PipelineService.spec
        case "experiments": spec = ExperimentsService.spec
        case "monitoring": spec = MonitoringService.spec
        case "scheduler": spec = SchedulerAPI.spec
        case "workers": spec = WorkersAPI.spec
        case "storage": spec = StorageAPI.spec
        case "webhooks": spec = WebhooksService.spec
        default: spec = AdminService.spec
        }
        if defects.contains(.L1) && service == "models" { spec.dependsOn.append("registry") }  // registry already needs models
        return spec
    }

    /// The configuration a service starts with (what a config file or environment would give).
    public static func configuration(_ service: String, defects: DefectSet) -> [String: String] {
        var configuration = ["logging.handler": "console", "node.accelerator": "no"]
        if service == "workers" { configuration["broker.url"] = defects.contains(.L10) ? "amqp://kafka:9092" : "kafka://kafka:9092" }
        if service == "monitoring" && defects.contains(.L12) { configuration["logging.handler"] = "rotating_file_handler_v2" }
        if service == "inference" && defects.contains(.L2) { configuration["accelerator.required"] = "yes" }
        if service == "features" && defects.contains(.L7) { configuration["redis.cluster"] = "yes" }
        return configuration
    }

    /// Each service's first request, as the client sends it through the gateway.
    public static func firstRequest(_ service: String) -> HTTPRequest {
        switch service {
        case "admin": return HTTPRequest("POST", "admin/tenants", body: ["tenant": "t1", "quota": "100", "reserve": "10"], origin: "https://admin.synapsenet.local")
        case "auth": return HTTPRequest("POST", "auth/token", body: ["user": "alice", "api_key": "k-alice"])
        case "experiments": return HTTPRequest("POST", "experiments/runs", body: ["seed": "42", "lr": "0.1"])
        case "features": return HTTPRequest("PUT", "features/values", body: ["entity": "user-1", "value": "0.5"])
        case "gateway": return HTTPRequest("GET", "gateway/routes")
        case "inference": return HTTPRequest("POST", "inference/predict", body: ["x": "1,2,3"])
        case "models": return HTTPRequest("POST", "models/create", body: ["name": "resnet"])
        case "monitoring": return HTTPRequest("POST", "monitoring/drift", body: ["feature": "age", "reference": "1,2,3,4,5,6,7,8", "current": "2,3,4,5,6,7,8,9"])
        case "pipeline": return HTTPRequest("POST", "pipeline/dags", body: ["name": "etl", "edges": "extract>transform,transform>load,extract>load"])
        case "registry": return HTTPRequest("POST", "registry/versions", body: ["model": "resnet"])
        case "scheduler": return HTTPRequest("POST", "scheduler/schedules", body: ["name": "nightly", "cron": "0 2 * * *", "tz": "Europe/Paris"])
        case "storage": return HTTPRequest("PUT", "storage/artifacts", body: ["key": "datasets/iris.csv", "content": "5.1,3.5,1.4,0.2"])
        case "training": return HTTPRequest("POST", "training/jobs", body: ["job": "resnet-finetune"])
        case "webhooks": return HTTPRequest("POST", "webhooks/endpoints", body: ["url": "https://hooks.example.com/synapsenet"])
        default: return HTTPRequest("POST", "workers/tasks", body: ["task": "task-1"])
        }
    }

    /// Builds the platform. Start delays (ns) per node name come from the caller (seed-chosen).
    public init(on simulation: Simulation, defects: DefectSet, startDelays: [String: Int64], disk: DiskOptions = DiskOptions()) {
        var addresses: [String: NodeID] = [:]
        func node(_ name: String) -> Node {
            let node = simulation.addNode(name, disk: disk)
            addresses[name] = node.id
            return node
        }
        let infraNodes = ServicePlatform.infrastructure.map(node)
        let serviceNodes = ServicePlatform.services.map(node)
        let client = node("client")
        let directory = PlatformDirectory(
            consul: Address(node: addresses["consul"]!, service: "consul"), kafka: Address(node: addresses["kafka"]!, service: "kafka"),
            redis: Address(node: addresses["redis"]!, service: "redis"), objectStore: Address(node: addresses["minio"]!, service: "s3"),
            search: Address(node: addresses["search"]!, service: "search"),
            databases: ServicePlatform.databases.mapValues { Address(node: addresses[$0]!, service: "sql") }, kafkaURL: "kafka://kafka:9092")
        for infra in infraNodes {
            let delay = startDelays[infra.name] ?? 0
            infra.addProcess(infra.name) { context in
                await context.sleep(nanoseconds: delay)
                switch infra.name {
                case "consul": await ConsulServer.run(context: context)
                case "kafka": await KafkaBroker.run(context: context)
                case "redis": await RedisServer.run(context: context)
                case "minio": await ObjectStoreServer.run(context: context)
                case "search": await SearchServer.run(context: context)
                default: await SQLServer.run(database: String(infra.name.dropLast(3)), context: context)
                }
            }
        }
        for service in serviceNodes {
            let spec = ServicePlatform.spec(service.name, defects: defects)
            let configuration = ServicePlatform.configuration(service.name, defects: defects)
            let delay = startDelays[service.name] ?? 0
            service.addProcess(service.name) { context in
                await ServiceHost.run(spec, directory: directory, defects: defects, configuration: configuration, startDelay: delay, context: context)
            }
        }
        let gateway = Address(node: addresses["gateway"]!, service: "http")
        client.addProcess("first-requests") { context in
            let observations = simulation.platformObservations
            await context.sleep(for: .seconds(2))
            while observations.firstRequestSucceeded.count < ServicePlatform.services.count {
                for service in ServicePlatform.services where observations.firstRequestSucceeded[service] == nil {
                    let outcome = await context.call(gateway, HTTPMessage.request(ServicePlatform.firstRequest(service)), timeout: 3 * Nanos.second)
                    if case .success(let envelope) = outcome, case .response(let response) = envelope.payload as? HTTPMessage {
                        if response.status == 200 {
                            observations.firstRequestSucceeded[service] = simulation.now
                            context.record(.firstRequest, payload: stableHash(service), "\(service) answered its first request")
                        } else {
                            observations.firstRequestError[service] = "HTTP \(response.status): \(response.body["error"] ?? "")"
                        }
                    } else {
                        observations.firstRequestError[service] = "no answer from the gateway"
                    }
                }
                await context.sleep(nanoseconds: 500 * Nanos.millisecond)
            }
        }
    }
}

extension TraceKind {
    public static let firstRequest = TraceKind("client.first_request")
}
