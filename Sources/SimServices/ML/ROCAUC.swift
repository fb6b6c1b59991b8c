/// Area under the ROC curve of `scores` against binary `labels`, as the Mann-Whitney statistic:
/// the probability that a random positive scores above a random negative, ties counting one half
/// (average ranks). nil when either class is absent.
public func rocAUC(scores: [Float], labels: [Float]) -> Double? {
    precondition(scores.count == labels.count, "rocAUC: \(scores.count) scores for \(labels.count) labels")
    let order = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    var ranks = [Double](repeating: 0, count: scores.count)
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
        let average = Double(start + end) / 2 + 1
        for k in start ... end { ranks[order[k]] = average }
        start = end + 1
    }
    let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
    guard positives > 0, negatives > 0 else { return nil }
    var rankSum = 0.0
    for (index, label) in labels.enumerated() where label == 1 { rankSum += ranks[index] }
    let u = rankSum - Double(positives) * Double(positives + 1) / 2
    return u / (Double(positives) * Double(negatives))
}
