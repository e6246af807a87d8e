/// A chunk's encoded tasks on their way to a worker: bytes of their own, or, for a large chunk of
/// plain tasks (`ChunkFormat.raw`), a view of the caller's own array, whose memory already is
/// the encoding. A map of a million `Int`-sized tasks is then written to the workers straight
/// from the caller's array: no megabytes of payload are made and filled before the first chunk
/// can leave (on this machine a fresh megabyte costs more in page faults than copying it:
/// about 1.4 ms, against 0.13 ms to copy into memory already touched).
///
/// A view keeps the caller's array alive (not copied: arrays are copied on write) until the
/// chunk is done, as Python's pool keeps its iterable's chunks.
struct PoolPayload: Sendable, Equatable, ExpressibleByArrayLiteral {
    private enum Storage: Sendable {
        case bytes([UInt8])
        /// Calls its argument with the bytes (those of an array it holds).
        case view(@Sendable (_ body: (UnsafeRawBufferPointer) -> Void) -> Void)
    }

    private let storage: Storage
    /// The payload's size in bytes.
    let count: Int

    /// Chunks of plain tasks at least this large are sent from the caller's array; smaller
    /// ones are copied (a copy is cheaper than the closure that views the array).
    static let viewThreshold = 64 << 10

    init(_ bytes: [UInt8]) {
        storage = .bytes(bytes)
        count = bytes.count
    }

    init(arrayLiteral elements: UInt8...) { self.init(elements) }

    /// `tasks`' own memory, for tasks whose encoding it is (`ChunkFormat.raw`).
    init<Task: Sendable>(viewing tasks: ArraySlice<Task>) {
        storage = .view { body in tasks.withUnsafeBytes(body) }
        count = tasks.count * MemoryLayout<Task>.stride
    }

    /// A chunk of `tasks` in `format`: viewed when they are plain and at least `viewThreshold`
    /// bytes, else encoded.
    /// - Throws: what encoding a task throws.
    init<Task: Encodable & Sendable>(_ tasks: ArraySlice<Task>, as format: ChunkFormat) throws {
        if format == .raw, tasks.count * MemoryLayout<Task>.stride >= Self.viewThreshold {
            self.init(viewing: tasks)
        } else {
            self.init(try ChunkPayloads.payload(tasks, as: format))
        }
    }

    /// Calls `body` with the payload's bytes.
    func withUnsafeBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        switch storage {
        case .bytes(let bytes): bytes.withUnsafeBytes(body)
        case .view(let view): view(body)
        }
    }

    /// The bytes, copied out of a view (to describe a chunk that failed, for instance).
    var bytes: [UInt8] {
        if case .bytes(let bytes) = storage { return bytes }
        var copy: [UInt8] = []
        copy.reserveCapacity(count)
        withUnsafeBytes { copy.append(contentsOf: $0) }
        return copy
    }

    static func == (left: PoolPayload, right: PoolPayload) -> Bool { left.count == right.count && left.bytes == right.bytes }
}
