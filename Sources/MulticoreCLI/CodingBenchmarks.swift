import Multicore

/// Tasks whose types take the general `Codable` path (issue 15): a field's type must not make a
/// pool slower than Python's. `pool.map.auto` is the same work with a `PlainData` task.
enum CodingBenchmarks {
    static let all: [Benchmark] = [
        // The first thing a port writes for Python's None.
        Benchmark(name: "pool.map.optional_field", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 2,
                  multicore: poolMapOptional, raw: nil),
        // The same task declaring `PlainData` (its coding is the synthesized one): coded by a `WirePlan`.
        Benchmark(name: "pool.map.optional_plain", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 2,
                  multicore: poolMapOptionalPlain, raw: nil),
        Benchmark(name: "pool.map.string_field", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 2,
                  multicore: poolMapString, raw: nil),
        Benchmark(name: "pool.map.nested_field", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 2,
                  multicore: poolMapNested, raw: nil),
        // The coding alone, without processes: what the three rows above pay per task.
        Benchmark(name: "wire.roundtrip.optional_field", unit: "s/value", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { try wireRoundTrip($0) { TwiceOptional(value: $0 % 10 == 0 ? nil : $0) } }, raw: nil, hasPython: false),
        Benchmark(name: "wire.roundtrip.optional_plain", unit: "s/value", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { try wireRoundTrip($0) { TwiceOptionalPlain(value: $0 % 10 == 0 ? nil : $0) } }, raw: nil, hasPython: false),
        Benchmark(name: "wire.roundtrip.string_field", unit: "s/value", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { try wireRoundTrip($0) { Measure(text: "item\($0)") } }, raw: nil, hasPython: false),
        Benchmark(name: "wire.roundtrip.nested_field", unit: "s/value", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { try wireRoundTrip($0) { Sum(point: Point(x: $0, y: 1)) } }, raw: nil, hasPython: false),
    ]

    /// Doubles its value, none counting as 0.
    struct TwiceOptional: ProcessTask, Equatable {
        var value: Int?
        func run() -> Int { (value ?? 0) &* 2 }
    }

    /// `TwiceOptional`, declaring that its coding is the synthesized one.
    struct TwiceOptionalPlain: ProcessTask, PlainData, Equatable {
        var value: Int?
        func run() -> Int { (value ?? 0) &* 2 }
    }

    /// The length of its text, in bytes.
    struct Measure: ProcessTask, Equatable {
        var text: String
        func run() -> Int { text.utf8.count }
    }

    /// Two numbers, in a struct of their own (not `PlainData`: the general path).
    struct Point: Codable, Sendable, Equatable {
        var x: Int
        var y: Int
    }

    /// The sum of its point's coordinates.
    struct Sum: ProcessTask, Equatable {
        var point: Point
        func run() -> Int { point.x &+ point.y }
    }

    /// Pool.map with automatic chunks over n tasks whose one field is an `Int?` (every tenth nil).
    static func poolMapOptional(_ n: Int) throws -> Double {
        try poolMap(n, expecting: { $0 % 10 == 0 ? 0 : $0 &* 2 }) { TwiceOptional(value: $0 % 10 == 0 ? nil : $0) }
    }

    /// `poolMapOptional` with the `PlainData` task.
    static func poolMapOptionalPlain(_ n: Int) throws -> Double {
        try poolMap(n, expecting: { $0 % 10 == 0 ? 0 : $0 &* 2 }) { TwiceOptionalPlain(value: $0 % 10 == 0 ? nil : $0) }
    }

    /// Pool.map over n tasks whose one field is a short `String` ("item0", "item1", ...).
    static func poolMapString(_ n: Int) throws -> Double {
        try poolMap(n, expecting: { "item\($0)".utf8.count }) { Measure(text: "item\($0)") }
    }

    /// Pool.map over n tasks whose one field is a struct of two `Int`s.
    static func poolMapNested(_ n: Int) throws -> Double {
        try poolMap(n, expecting: { $0 &+ 1 }) { Sum(point: Point(x: $0, y: 1)) }
    }

    /// Pool.map with automatic chunks over the n tasks `make` gives (on 2 workers, started and
    /// warm before the timing); the last output must be `expecting(n - 1)`.
    static func poolMap<T: ProcessTask>(_ n: Int, expecting: (Int) -> Int, _ make: (Int) -> T) throws -> Double
        where T.Output == Int {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        _ = try pool.map((0..<4).map(make))
        let tasks = (0..<n).map(make)
        let start = MonotonicClock.now
        let outputs = try pool.map(tasks)
        let elapsed = MonotonicClock.now - start
        guard outputs.count == n, outputs.last == expecting(n - 1) else { throw BenchmarkError("wrong outputs") }
        return elapsed / Double(n)
    }

    /// Encodes n values that `make` gives as one array, and decodes them back (one process).
    static func wireRoundTrip<T: Codable & Equatable>(_ n: Int, _ make: (Int) -> T) throws -> Double {
        let values = (0..<n).map(make)
        let start = MonotonicClock.now
        let bytes = try WireEncoder().encode(values)
        let decoded = try WireDecoder().decode([T].self, from: bytes)
        let elapsed = MonotonicClock.now - start
        guard decoded.count == n, decoded.last == values.last else { throw BenchmarkError("wrong values") }
        return elapsed / Double(n)
    }
}
