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

    func testFlattenedFieldsTakeAnyKeyAndABoolQueryIntersectsItsClauses() {
        var log: [String] = []
        _ = runInfra(serverName: "es", server: { await SearchServer.run(context: $0) }) { context, node in
            let es = self.search(node)
            _ = await es.request(.createIndex("runs", mappings: ["experiment": .keyword, "tag": .flattened]), context: context)
            _ = await es.request(.index("runs", id: "1", document: ["experiment": "ctr", "tag.team": "ml", "tag.owner": "ana"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            _ = await es.request(.index("runs", id: "2", document: ["experiment": "ctr", "tag.team": "research"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            _ = await es.request(.index("runs", id: "3", document: ["experiment": "cv", "tag.team": "ml"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context)
            log.append("\(await es.request(.search("runs", .all([.term(field: "experiment", value: "ctr"), .term(field: "tag.team", value: "ml")])), context: context))")
            log.append("\(await es.request(.search("runs", .term(field: "tag.team", value: "ml")), context: context))")
            // The flattened entry itself is not a field, nor is a field outside the mapping.
            log.append("\(await es.request(.index("runs", id: "4", document: ["tag": "x"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
            log.append("\(await es.request(.index("runs", id: "4", document: ["label.team": "x"], ifSeqNo: nil, ifPrimaryTerm: nil), context: context))")
            log.append("\(await es.request(.search("runs", .all([])), context: context))")
        }
        XCTAssertEqual(log, [
            "success(SimServices.SearchReply.hits([\"1\"]))",
            "success(SimServices.SearchReply.hits([\"1\", \"3\"]))",
            "failure(strict_dynamic_mapping_exception: field [tag] is not in the mapping)",
            "failure(strict_dynamic_mapping_exception: field [label.team] is not in the mapping)",
            "failure(query_shard_exception: a bool query needs at least one clause)",
        ])
    }

    func testAnExternalVersionKeepsTheNewestSnapshotWhateverTheArrivalOrder() {
        var log: [String] = []
        _ = runInfra(serverName: "es", server: { await SearchServer.run(context: $0) }) { context, node in
            let es = self.search(node)
            _ = await es.request(.createIndex("runs", mappings: ["tag": .flattened]), context: context)
            log.append("\(await es.request(.indexVersion("runs", id: "1", document: ["tag.team": "new"], version: 5), context: context))")
            // An older snapshot arriving late is refused and leaves the newer one in place.
            log.append("\(await es.request(.indexVersion("runs", id: "1", document: ["tag.team": "old"], version: 4), context: context))")
            log.append("\(await es.request(.indexVersion("runs", id: "1", document: ["tag.team": "same"], version: 5), context: context))")
            log.append("\(await es.request(.search("runs", .term(field: "tag.team", value: "old")), context: context))")
            log.append("\(await es.request(.get("runs", id: "1"), context: context))")
        }
        XCTAssertEqual(log, [
            "success(SimServices.SearchReply.indexed(seqNo: 0, primaryTerm: 1, version: 5))",
            "failure(version_conflict_engine_exception: [1]: version conflict, current version [5] is higher or equal to the one provided [4])",
            "failure(version_conflict_engine_exception: [1]: version conflict, current version [5] is higher or equal to the one provided [5])",
            "success(SimServices.SearchReply.hits([]))",
            "success(SimServices.SearchReply.document([\"tag.team\": \"new\"], seqNo: 0, primaryTerm: 1))",
        ])
    }
}
