import SimKernel
import SimServices
import Yams

/// Each service's first request, sent by the `client` node through the gateway until it succeeds
/// (scenario 00's cold start, and the start-up phase of any scenario that checks `cold-start`).
public struct FirstRequestsWorkload: Workload {
    public static let name = "first_requests"
    public static let requiredRoles = ["client", "gateway"]

    public init(reading node: Yams.Node?, field: String, reader: FieldReader) throws(ScenarioError) {
        if let node { _ = try reader.mapping(node, field, allowed: []) }
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

    public func install(on platform: Platform) {
        guard let client = platform.topology.nodes(role: "client").first.flatMap({ platform.node($0.name) }),
              let gateway = platform.directory.services["gateway"] else { return }
        let simulation = platform.simulation
        let services = platform.topology.presentServices
        client.addProcess("first-requests") { context in
            let observations = simulation.platformObservations
            await context.sleep(for: .seconds(2))
            // The operator's token (deny by default): asked once a round until auth grants it;
            // auth's own first request is the login itself, which needs none.
            var token: String?
            while services.contains(where: { observations.firstRequestSucceeded[$0] == nil }) {
                if token == nil, case .success(let envelope) = await context.call(gateway, HTTPMessage.request(HTTPRequest("POST", "auth/token", body: ["user": "ops-admin", "api_key": "k-ops-admin"])), timeout: 3 * Nanos.second),
                   case .response(let response) = envelope.payload as? HTTPMessage { token = response.body["token"] }
                for service in services where observations.firstRequestSucceeded[service] == nil {
                    var request = FirstRequestsWorkload.firstRequest(service)
                    if service != "auth" {
                        guard let token else {
                            observations.firstRequestError[service] = "no token: auth granted none yet"
                            continue
                        }
                        request.headers["authorization"] = token
                    }
                    let outcome = await context.call(gateway, HTTPMessage.request(request), timeout: 3 * Nanos.second)
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
