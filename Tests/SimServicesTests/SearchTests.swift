import XCTest
@testable import SimKernel
@testable import SimServices

final class SearchTests: XCTestCase {
    func search(_ node: Node) -> SearchClient { SearchClient(server: Address(node: node.id, service: "search")) }

    func testMappingsQueriesAndOptimisticConcurrency() {
        var log: [String] = []
        _ = runInfra(serverName: "es", server: { await SearchServer.run(context: $0) }) { context, node in
            let es = self.search(node)
            log.append("\(await es.request(.index("models", id: "1", document: ["name": "x"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
            _ = await es.request(.createIndex("models", mappings: ["name": .keyword, "description": .text, "version": .integer]), context: context)
            log.append("\(await es.request(.index("models", id: "1", document: ["version": "two"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
            _ = await es.request(.index("models", id: "1", document: ["name": "resnet", "description": "Image classifier, residual", "version": "1"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            _ = await es.request(.index("models", id: "2", document: ["name": "bert", "description": "text classifier", "version": "3"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            log.append("\(await es.request(.search("models", .match(field: "description", text: "residual CLASSIFIER")), context: context))")
            log.append("\(await es.request(.search("models", .term(field: "name", value: "bert")), context: context))")
            // Two writers read seq_no 0 of document 1; the second conditional write loses.
            log.append("\(await es.request(.index("models", id: "1", document: ["name": "resnet-50"], ifSeqNo: 0, ifPrimaryTerm: 1), context: context))")
            log.append("\(await es.request(.index("models", id: "1", document: ["name": "resnet-101"], ifSeqNo: 0, ifPrimaryTerm: 1), context: context))")
        }
        XCTAssertEqual(log, [
            "failure(index_not_found_exception: no such index [models])",
            "failure(mapper_parsing_exception: failed to parse field [version] of type [integer]: 'two')",
            "success(SimServices.SearchReply.hits([\"1\", \"2\"]))",
            "success(SimServices.SearchReply.hits([\"2\"]))",
            "success(SimServices.SearchReply.indexed(seqNo: 2, primaryTerm: 1, version: 2))",
            "failure(version_conflict_engine_exception: [1]: required seqNo [0], current [2])",
        ])
    }

    func testTranslogReplaysAfterACrashAndThePrimaryTermGrows() {
        var log: [String] = []
        _ = runInfra(serverName: "es", server: { await SearchServer.run(context: $0) }) { context, node in
            let es = self.search(node)
            _ = await es.request(.createIndex("runs", mappings: ["tag": .keyword]), context: context)
            _ = await es.request(.index("runs", id: "r1", document: ["tag": "nightly"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            node.crash()
            node.restart()
            log.append("\(await es.request(.search("runs", .term(field: "tag", value: "nightly")), context: context))")
            log.append("\(await es.request(.index("runs", id: "r2", document: ["tag": "x"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
        }
        XCTAssertEqual(log, ["success(SimServices.SearchReply.hits([\"r1\"]))", "success(SimServices.SearchReply.indexed(seqNo: 1, primaryTerm: 2, version: 1))"])
    }
}
