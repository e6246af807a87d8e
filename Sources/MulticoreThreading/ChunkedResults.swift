import DequeModule

/// The outcomes of a chunk's tasks, in order: usually every output in one array (no task
/// failed), kept whole so that a million outputs are never wrapped one by one.
package enum ChunkOutcomes<Output: Sendable>: Sendable {
    case values([Output])
    /// Every output, still in the bytes they came in (plain data, see `PackedOutputs`).
    case packed(PackedOutputs<Output>)
    case each([Result<Output, any Error>])

    package var count: Int {
        switch self {
        case .values(let values): values.count
        case .packed(let packed): packed.count
        case .each(let results): results.count
        }
    }

    /// Every output, or the first error in order.
    package func allValues() throws -> [Output] {
        switch self {
        case .values(let values): values
        case .packed(let packed): packed.unpacked()
        case .each(let results): try results.map { try $0.get() }
        }
    }

    /// Each task's outcome.
    package var results: [Result<Output, any Error>] {
        switch self {
        case .values(let values): values.map { .success($0) }
        case .packed(let packed): packed.unpacked().map { .success($0) }
        case .each(let results): results
        }
    }
}

/// The outputs of a chunk that had no failure, still in the reply they came in: `count` values
/// of a plain type (standard numbers, `PlainData`: their memory is their encoding) from `offset`.
/// They are copied out once, where they are used: a large map appends them straight to its
/// array, with no array per chunk (each of which was new memory, a page fault per 4 KiB, about
/// 1.4 ms per megabyte on this machine).
package struct PackedOutputs<Output>: Sendable {
    private let bytes: [UInt8]
    private let offset: Int
    package let count: Int

    /// Whether `bytes` holds exactly `count` values from `offset`.
    package static func fits(_ bytes: [UInt8], offset: Int, count: Int) -> Bool {
        offset >= 0 && count > 0 && bytes.count - offset == count * MemoryLayout<Output>.stride
    }

    /// The `count` values that `bytes` holds from `offset`, which `fits` said. The caller knows
    /// that `Output` is plain data (the pool's `ChunkFormat.mayBeRaw`): any bytes are a value.
    /// (Not a failable initializer: in code not specialized for `Output`, an optional of this
    /// type costs a metadata lookup at each call.)
    package init(_ bytes: [UInt8], offset: Int, count: Int) {
        precondition(Self.fits(bytes, offset: offset, count: count), "the bytes do not hold the values")
        self.bytes = bytes
        self.offset = offset
        self.count = count
    }

    /// Calls `body` with the values' bytes.
    package func withUnsafeBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
    }

    /// Appends the values to `array`: straight from the reply when they are aligned there
    /// (as the pool's replies put them), else through a copy.
    package func append(to array: inout [Output]) {
        let aligned = bytes.withUnsafeBytes { raw in
            let start = raw.baseAddress! + offset
            guard Int(bitPattern: start) % MemoryLayout<Output>.alignment == 0 else { return false }
            start.withMemoryRebound(to: Output.self, capacity: count) { array.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
            return true
        }
        if !aligned { array += unpacked() }
    }

    /// The values, in an array of their own.
    package func unpacked() -> [Output] {
        [Output](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            initialized = count
        }
    }
}

/// The outcomes of the chunk being taken, one at a time. Outputs of a chunk with no failure
/// stay in their array and are handed out by `nextValue`, which is inlined into the caller's
/// loop (specialized for its output type): taking one costs an index check and a copy, where a
/// generic call across modules costs a metadata lookup and calls through witness tables.
@usableFromInline
package struct ReadyOutputs<Output> {
    @usableFromInline var values: [Output] = []
    @usableFromInline var position = 0
    /// A chunk with a failure: each task's outcome (taken by `nextOutcome`, not inlined).
    private var results: [Result<Output, any Error>] = []
    private var resultPosition = 0

    @usableFromInline package init() {}

    /// The next output of a chunk that had no failure, or nil (then ask `nextOutcome`).
    @inlinable package mutating func nextValue() -> Output? {
        guard position < values.count else { return nil }
        defer { position &+= 1 }
        return values[position]
    }

    /// The next outcome, nil once the chunk's outcomes are all taken.
    package mutating func nextOutcome() -> Result<Output, any Error>? {
        if let value = nextValue() { return .success(value) }
        guard resultPosition < results.count else { return nil }
        defer { resultPosition += 1 }
        return results[resultPosition]
    }

    /// Hands out `outcomes` next (the ones before must have been taken).
    package mutating func take(_ outcomes: ChunkOutcomes<Output>) {
        switch outcomes {
        case .values(let values): replace(values: values, results: [])
        case .packed(let packed): replace(values: packed.unpacked(), results: [])
        case .each(let results): replace(values: [], results: results)
        }
    }

    /// Hands out `error` for each of `count` tasks next: their chunk failed as a whole.
    package mutating func fail(_ error: any Error, count: Int) {
        replace(values: [], results: Array(repeating: .failure(error), count: count))
    }

    private mutating func replace(values: [Output], results: [Result<Output, any Error>]) {
        self.values = values
        self.results = results
        position = 0
        resultPosition = 0
    }
}

/// The chunks of a lazy map in flight, oldest first, and the input they are read from: what
/// `imap`, `imapUnordered`, a chunked `ProcessPoolExecutor.map` and a chunked `results(of:)`
/// share. At most `bufferSize` chunks are in flight; the input is read a chunk at a time.
package struct ChunkWindow<Input: IteratorProtocol, Output: Sendable> {
    package typealias Entry = (future: Future<ChunkOutcomes<Output>>, count: Int)
    private var input: LazyInput<Input>
    package private(set) var inFlight = Deque<Entry>()
    private let chunkSize: Int
    private let submit: ([Input.Element]) throws -> Future<ChunkOutcomes<Output>>

    /// - Parameter readChunk: reads up to n elements (`LazyInput.chunkReader()`, specialized
    ///   by an inlinable caller), nil to read one at a time here.
    package init(input: Input, readChunk: LazyInput<Input>.ChunkReader?, chunkSize: Int, bufferSize: Int,
                 submit: @escaping ([Input.Element]) throws -> Future<ChunkOutcomes<Output>>) {
        self.input = LazyInput(input, bufferSize: bufferSize, readChunk: readChunk)
        self.chunkSize = max(1, chunkSize)
        self.submit = submit
    }

    package var isEmpty: Bool { inFlight.isEmpty }

    /// Submits chunks until `bufferSize` are in flight or the input ends.
    package mutating func fill() throws {
        let submit = submit
        try input.refill(inFlight: { inFlight.count }, chunksOf: chunkSize) { chunk in
            inFlight.append((try submit(chunk), chunk.count))
        }
    }

    package mutating func removeFirst() -> Entry { inFlight.removeFirst() }

    package mutating func remove(at index: Int) -> Entry { inFlight.remove(at: index) }

    /// Puts back an entry taken out (its wait timed out), where it was.
    package mutating func putBack(_ entry: Entry, first: Bool) {
        if first { inFlight.prepend(entry) } else { inFlight.append(entry) }
    }

    /// Cancels the chunks not started; `stopRunning` also stops those running.
    package func cancelAll(stopRunning: Bool) {
        for entry in inFlight where !entry.future.isDone {
            if stopRunning { entry.future.interrupt() } else { _ = entry.future.cancel() }
        }
    }
}
