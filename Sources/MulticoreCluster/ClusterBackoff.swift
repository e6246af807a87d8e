/// The wait before the next try at something that failed (a lost connection, a refused
/// statement): 50 ms, doubling up to 2 s, with jitter so that nodes do not retry in step.
struct ClusterBackoff {
    private var attempt = 0

    mutating func next() -> Duration {
        let base = min(2000, 50 << min(attempt, 6))
        attempt += 1
        return .milliseconds(base / 2 + Int.random(in: 0...(base / 2)))
    }

    mutating func reset() { attempt = 0 }
}
