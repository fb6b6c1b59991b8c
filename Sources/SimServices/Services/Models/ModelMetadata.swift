import SimKernel

/// `POST models/metadata {name, xml}`: a model's metadata as an XML document (`<model>` with a
/// `<description>`, as exported by model tooling), read by `MetadataXML` with document type
/// declarations refused (400, logged: the way in for external entities and entity expansion).
/// The description is stored as `models/describe` stores it (revision + 1, mirrored). I6 reads the
/// DTD and resolves its entities, external ones from the node's files (`ImageFiles`): XXE.
extension ModelsService {
    public struct Metadata: Codable, Sendable, Equatable {
        public var name: String
        public var xml: String
    }

    static func metadata(_ runtime: ServiceRuntime, _ request: Metadata, _ info: RequestInfo) async throws(ServiceError) -> ModelRecord {
        guard let tenant = info.tenant, info.user != nil else { throw ServiceError(401, "model metadata needs an authenticated caller") }
        let node = runtime.context.node.name
        let document: MetadataXML
        do {
            document = try MetadataXML(request.xml, resolvingEntities: runtime.defects.contains(.I6), resolve: { ImageFiles.read($0, node: node) })
        } catch .dtdForbidden {
            throw await SecurityEvents.refuse(runtime, caller: SecurityEvents.caller(info), reason: "XML document type declaration", detail: "metadata of \(request.name)")
        } catch {
            throw .badRequest("xml: \(error)")
        }
        guard document.root == "model", let description = document.fields.first(where: { $0.name == "description" })?.text else {
            throw .badRequest("xml: a <model> document with a <description> is required")
        }
        let security = runtime.context.simulation.security, caller = SecurityEvents.caller(info)
        return try await describe(runtime, tenant: tenant, name: request.name, description: description) {
            // Stored: what the checker judges, even if the search mirror then fails.
            security.metadataStored.append((runtime.context.simulation.now, caller, request.name, description))
            security.revision &+= 1
        }
    }
}
