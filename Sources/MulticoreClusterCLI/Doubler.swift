import MulticoreProcessing

/// The notebook's doubler (`multicore notebook`, cell 3) as the cluster's task: `draws` mock
/// random additions of CPU work (the notebook's cell makes 100,000,000; `map --draws`), then the
/// doubling. What `multicore-cluster node` serves and `map` and `soak` send: one type in this
/// binary, so a node's workers (copies of it) find it by its mangled name.
struct Doubler: ProcessTask {
    var number: Int
    var draws = 0

    func run() -> Int {
        var generator = XorShift(seed: UInt64(bitPattern: Int64(number)))
        var sum = 0
        for _ in 0..<draws { sum &+= Int(generator.next() % 10) + 1 }
        // `sum` is used, so the loop stays; it is never negative.
        return sum >= 0 ? number &* 2 : 0
    }
}

/// xorshift64 (Marsaglia): the doubler's CPU work (no system call per number, as the
/// notebook's generator) and the soak's seeded choices (a seed printed is a run repeated).
struct XorShift: RandomNumberGenerator {
    private var state: UInt64
    /// Any seed; 0, which xorshift never leaves, is taken as 1.
    init(seed: UInt64) { state = seed == 0 ? 1 : seed }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
