extension Int64 {
    /// Whether this time is at most `tolerance` from `other`, either way, judged without overflow:
    /// a crafted time so far off that the difference overflows (Int64.min, say) is not within it,
    /// and never traps. Signatures, proofs and webhook timestamps are judged with it.
    func isWithin(_ tolerance: Int64, of other: Int64) -> Bool {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return !overflow && difference.magnitude <= UInt64(Swift.max(0, tolerance))
    }
}
