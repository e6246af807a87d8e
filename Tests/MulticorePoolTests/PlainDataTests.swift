import Testing
@testable import MulticorePool
@testable import MulticoreProcessing

struct NegativeRefused: Error, CustomStringConvertible {
    var description: String { "negative values are not sent" }
}

struct ThirteenRejected: Error, CustomStringConvertible {
    var description: String { "13 is not accepted" }
}

/// Plain data in memory, with its own `encode(to:)`, which refuses negative values.
struct EncodesOnlyNonNegatives: ProcessTask {
    var x: Int
    enum CodingKeys: CodingKey { case x }
    init(x: Int) { self.x = x }
    func encode(to encoder: any Encoder) throws {
        guard x >= 0 else { throw NegativeRefused() }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(x, forKey: .x)
    }
    func run() -> Int { x }
}

/// Plain data in memory, with its own `init(from:)`, which rejects 13 (validation).
struct DecodesOnlyNotThirteen: ProcessTask {
    var x: Int
    enum CodingKeys: CodingKey { case x }
    init(x: Int) { self.x = x }
    init(from decoder: any Decoder) throws {
        x = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .x)
        guard x != 13 else { throw ThirteenRejected() }
    }
    func run() -> Int { x }
}

/// Declares that its coding is the synthesized one: copied as memory.
struct DeclaredPlain: ProcessTask, PlainData {
    var x: Int32
    var y: Int32
    func run() -> Int { Int(x + y) }
}

/// Declares plain data with optional fields: not its memory on the wire, coded by a `WirePlan`.
struct DeclaredPlainOptional: ProcessTask, PlainData {
    var x: Int32?
    var y: Bool
    var z: Double?
    func run() -> Double { Double(x ?? -1) + (y ? 0.5 : 0) + (z ?? 0) }
}

/// A plain output of two halves, returned by `Halves`.
struct HalvesOutput: Codable, Sendable, PlainData, Equatable {
    var low: Int32
    var high: Int32
}

/// Splits its value into two halves: a task whose output is plain data of its own type.
struct Halves: ProcessTask {
    var value: Int
    func run() -> HalvesOutput { HalvesOutput(low: Int32(value % 1_000), high: Int32(value / 1_000)) }
}

/// The pool's fast path copies plain data as bytes; it used to do so for every type whose first
/// value encoded as its memory, skipping a type's own `encode(to:)` and `init(from:)`.
@Suite(.timeLimit(.minutes(5))) struct PlainDataTests {
    @Test func aTasksOwnEncodeRunsInAPoolAsInAChildProcess() throws {
        #expect(throws: NegativeRefused.self) { try ChildProcess(task: EncodesOnlyNonNegatives(x: -1)).start() }
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map([EncodesOnlyNonNegatives(x: 1), EncodesOnlyNonNegatives(x: 2)]) == [1, 2])
        #expect(throws: NegativeRefused.self) {
            try pool.map([EncodesOnlyNonNegatives(x: 1), EncodesOnlyNonNegatives(x: -1)], chunksize: 2)
        }
    }

    @Test func aTasksOwnInitFromRunsInAPoolWorker() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map([DecodesOnlyNotThirteen(x: 12)]) == [12])
        do {
            let outputs = try pool.map([DecodesOnlyNotThirteen(x: 12), DecodesOnlyNotThirteen(x: 13)], chunksize: 2)
            Issue.record("a task its own init(from:) rejects ran: \(outputs)")
        } catch {
            #expect("\(error)".contains("13 is not accepted"), "\(error)")
        }
    }

    @Test func onlyStandardNumbersAndDeclaredPlainDataAreCopiedAsMemory() throws {
        #expect(try ChunkFormat.choose(for: [1, 2, 3]) == .raw)
        #expect(try ChunkFormat.choose(for: [2.5]) == .raw)
        #expect(try ChunkFormat.choose(for: [DeclaredPlain(x: 1, y: 2)]) == .raw)
        #expect(try ChunkFormat.choose(for: [EncodesOnlyNonNegatives(x: 1)]) == .coded)
        #expect(try ChunkFormat.choose(for: [DecodesOnlyNotThirteen(x: 1)]) == .coded)
        // Bytes that claim to be raw values of a type with its own coding are refused.
        let bytes = withUnsafeBytes(of: DecodesOnlyNotThirteen(x: 13)) { Array($0) }
        #expect(throws: WireError.self) { try PoolChunk.decode(DecodesOnlyNotThirteen.self, format: .raw, count: 1, from: bytes, at: 0) }
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map((0..<100).map { DeclaredPlain(x: Int32($0), y: 1) }) == (0..<100).map { $0 + 1 })
    }

    /// Plain outputs stay in their replies and are appended to a map's array from there by the
    /// task type's `_appendPlainOutputs`: every chunk size, in order, aligned in the bytes or not.
    @Test func plainOutputsAreAppendedFromTheirRepliesInOrder() throws {
        let outputs = (0..<5).map { HalvesOutput(low: Int32($0), high: -Int32($0)) }
        let bytes = outputs.withUnsafeBytes { [UInt8]($0) }
        for offset in [0, 3] { // aligned for the output, then not
            let shifted = [UInt8](repeating: 0xEE, count: offset) + bytes
            var array = [HalvesOutput(low: 9, high: 9)]
            shifted.withUnsafeBytes { Halves._appendPlainOutputs(UnsafeRawBufferPointer(rebasing: $0[offset...]), to: &array) }
            #expect(array == [HalvesOutput(low: 9, high: 9)] + outputs, "offset \(offset)")
        }
        let tasks = (0..<3_001).map { Halves(value: $0 &* 7) }
        let expected = tasks.map { $0.run() }
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        for chunksize in [1, 7, nil] {
            #expect(try pool.map(tasks, chunksize: chunksize) == expected, "chunksize \(String(describing: chunksize))")
        }
        #expect(try pool.map(tasks.lazy.filter { _ in true }) == expected, "a streaming map")
    }

    @Test func declaredPlainDataWithOptionalsRunsThroughItsPlan() throws {
        let tasks = (0..<20_000).map { (n: Int) -> DeclaredPlainOptional in
            let x: Int32? = n % 3 == 0 ? nil : Int32(n)
            let z: Double? = n % 4 == 0 ? nil : 0.25
            return DeclaredPlainOptional(x: x, y: n % 2 == 0, z: z)
        }
        #expect(try ChunkFormat.choose(for: tasks) == .coded, "an optional is not its wire bytes in memory")
        #expect(WirePlan.plan(for: DeclaredPlainOptional.self, sample: tasks[1]) != nil)
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map(tasks) == tasks.map { $0.run() })
        #expect(try pool.map(tasks, chunksize: 1_000) == tasks.map { $0.run() })
    }
}
