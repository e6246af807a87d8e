import MulticoreProcessing
import MulticoreThreading

/// How a chunk of values (the tasks a worker is given at once, or their outputs) crosses to
/// the other process: in one buffer, never one encoding per value.
enum ChunkFormat: UInt8 {
    /// The array's own bytes, in one copy: for the standard library's fixed-width numbers and
    /// for types that declare `PlainData` (their coding is the synthesized one), whose wire
    /// encoding is exactly their memory (no padding, no references): the same bytes either way.
    /// Both sides run the same binary, so the layout is the same; a million `Int`-sized tasks
    /// cost one copy. Once a type is known to qualify (its first value is encoded and
    /// compared), its later values are copied without calling `encode(to:)` or `init(from:)`:
    /// which is why a type must declare it, since a hand-written `encode(to:)` that throws for
    /// some values, or an `init(from:)` that validates, would be skipped.
    case raw = 0
    /// The whole array through `WireEncoder`: everything else.
    case coded = 1

    /// Whether `T` may be copied as memory: a standard fixed-width number or `PlainData`, with
    /// nothing to retain, no trailing padding, not empty.
    static func isPlain<T>(_: T.Type) -> Bool {
        _isPOD(T.self) && MemoryLayout<T>.size == MemoryLayout<T>.stride && MemoryLayout<T>.size > 0
            && WireMemory.mayCopy(T.self)
    }

    /// Each type's format once known, looked up first: in code not specialized for `T` (a
    /// task or output type from another module), `isPlain` costs protocol conformance and
    /// metadata lookups, microseconds per one-task chunk on every side. Read without a lock
    /// (a lock and a dictionary's hashing were 2 to 5% of the manager thread's time per task).
    private static let known = TypeFacts<ChunkFormat>()

    /// How `values` travel: `raw` when `T` is plain and the first value's encoding is its memory.
    /// - Throws: what encoding the first value throws (a type that refuses to be encoded).
    static func choose<T: Encodable>(for values: [T]) throws -> ChunkFormat {
        guard let first = values.first else { return .coded }
        return try choose(first: first)
    }

    /// How values of `T` travel, `first` being one of them (encoded once, the first time).
    static func choose<T: Encodable>(first: T) throws -> ChunkFormat {
        try known.answer(for: T.self) {
            guard isPlain(T.self) else { return .coded }
            let encoded = try WireEncoder().encode(first)
            return withUnsafeBytes(of: first) { encoded.elementsEqual($0) } ? .raw : .coded
        }
    }

    /// Whether a chunk of `T`s may be read as `raw`: `isPlain`, asked once per type.
    static func mayBeRaw<T>(_: T.Type) -> Bool {
        plainTypes.answer(for: T.self) { isPlain(T.self) }
    }

    private static let plainTypes = TypeFacts<Bool>()
}

enum PoolChunk {
    /// Appends `values` to `bytes` in the format `ChunkFormat.choose` picks, and returns it.
    @discardableResult
    static func append<T: Encodable>(_ values: [T], to bytes: inout [UInt8]) throws -> ChunkFormat {
        let format = try ChunkFormat.choose(for: values)
        try append(values[...], as: format, to: &bytes)
        return format
    }

    /// Appends `values` to `bytes` in `format`, which `ChunkFormat.choose` gave for `T`.
    static func append<T: Encodable>(_ values: ArraySlice<T>, as format: ChunkFormat, to bytes: inout [UInt8]) throws {
        switch format {
        case .raw: values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        case .coded:
            let encoded = try WireEncoder().encode(contentsOf: values)
            if bytes.isEmpty { bytes = encoded } else { bytes += encoded }
        }
    }

    /// Decodes `count` `T`s that `append` wrote in `format`, which fill `bytes` from `offset` to the end.
    /// - Throws: `WireError` when the bytes do not hold exactly `count` of them, or claim to be
    ///   raw for a type that is not plain data.
    static func decode<T: Decodable>(_: T.Type, format: ChunkFormat, count: Int, from bytes: [UInt8], at offset: Int) throws -> [T] {
        switch format {
        case .raw:
            let stride = MemoryLayout<T>.stride
            guard ChunkFormat.mayBeRaw(T.self) else {
                throw WireError.corrupt(offset: offset, reason: "raw values of \(T.self), which is not plain data")
            }
            guard offset >= 0, bytes.count - offset == count * stride else {
                throw WireError.corrupt(offset: offset, reason: "\(bytes.count - offset) byte(s) for \(count) value(s) of \(stride) byte(s)")
            }
            // None for no values: `unsafeUninitializedCapacity: 0` writes to the shared empty
            // array's storage (a race ThreadSanitizer reports).
            guard count > 0 else { return [] }
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset...]))
                }
                initialized = count
            }
        case .coded:
            let values = try WireDecoder().decode([T].self, from: bytes, offset: offset)
            guard values.count == count else {
                throw WireError.corrupt(offset: offset, reason: "\(values.count) value(s) where \(count) were expected")
            }
            return values
        }
    }

    /// Whether `bytes` holds one value of `T` from `offset` to its end, and `T` is plain data.
    static func holdsOnePlain<T>(_: T.Type, _ bytes: [UInt8], at offset: Int) -> Bool {
        offset >= 0 && bytes.count - offset == MemoryLayout<T>.size && ChunkFormat.mayBeRaw(T.self)
    }

    /// The one value of plain type `T` that `bytes` holds from `offset`, copied out: what
    /// `holdsOnePlain` checked. (Not an optional: in code not specialized for `T`, a `T?` costs
    /// a metadata lookup at each call.)
    static func plainValue<T>(_: T.Type, from bytes: [UInt8], at offset: Int) -> T {
        precondition(holdsOnePlain(T.self, bytes, at: offset), "not one plain value")
        return bytes.withUnsafeBytes { raw in
            withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer in
                // Plain data: its bytes are the value, with nothing to retain.
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress! + offset, byteCount: MemoryLayout<T>.size)
                return buffer.baseAddress!.move()
            }
        }
    }
}

/// A worker's answer to a chunk: after the chunk's id, either every output in one buffer (the
/// common case: no task threw), tagged `allValues` and followed by its `ChunkFormat`, or one
/// `WorkerReply` per task, tagged `eachTask`.
enum PoolReply {
    static let allValues: UInt8 = 0
    static let eachTask: UInt8 = 1

    /// What comes before the outputs of an `allValues` reply: the tag, the format's place, and
    /// zeros up to 8 bytes, so that the outputs start 16 bytes into the reply's body, aligned
    /// where the pool reads it (raw outputs are left in their reply, `PackedOutputs`, and
    /// appended to a map's array straight from it).
    static let valuesHeader: [UInt8] = [allValues, 0, 0, 0, 0, 0, 0, 0]

    /// The reply frame for chunk `id` whose tasks, decoded from `payload`, are run here, in order.
    /// - Parameter room: zero bytes put before the frame (where a wire frame header goes, so
    ///   that it is sent without a copy).
    static func running<T: ProcessTask>(_: T.Type, id: UInt64, count: Int, format: ChunkFormat, payload: [UInt8], at offset: Int,
                                        room: Int = 0) -> [UInt8] {
        if count == 1, format == .raw, let frame = runningOne(T.self, id: id, payload: payload, at: offset, room: room) {
            return frame
        }
        let tasks: [T]
        do {
            tasks = try PoolChunk.decode(T.self, format: format, count: count, from: payload, at: offset)
        } catch {
            return failing(WorkerReply(error: error), id: id,
                           count: count, room: room)
        }
        var frame = header(id, room: room)
        let (outputs, failure) = runEach(tasks)
        if let failure {
            // From here on, one reply per task: the outputs so far, this error, the rest run one by one.
            var replies = outputs.map { WorkerMain.reply(encoding: $0) }
            replies.append(WorkerReply(error: failure.error))
            replies += tasks[(failure.index + 1)...].map { WorkerMain.reply(running: $0) }
            appendEach(replies, to: &frame)
            return frame
        }
        let mark = frame.count
        frame += valuesHeader
        do {
            frame[mark + 1] = try PoolChunk.append(outputs, to: &frame).rawValue
        } catch {
            // An output that cannot be encoded fails only its own task.
            frame.removeSubrange(mark...)
            appendEach(outputs.map { WorkerMain.reply(encoding: $0) }, to: &frame)
        }
        return frame
    }

    /// `running` for a chunk of one plain task (`Pool.map` with chunksize 1, every `submit`),
    /// without the arrays of tasks and outputs, whose metadata this code, not specialized for
    /// `T`, looks up at each use. Nil, with nothing run, when the payload is not one `T`: the
    /// general path says what is wrong with it.
    private static func runningOne<T: ProcessTask>(_: T.Type, id: UInt64, payload: [UInt8], at offset: Int, room: Int) -> [UInt8]? {
        let size = MemoryLayout<T>.stride
        guard ChunkFormat.mayBeRaw(T.self), offset >= 0, payload.count - offset == size else { return nil }
        var frame = header(id, room: room)
        let output: T.Output
        do {
            output = try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { task in
                payload.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(task).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset...]))
                }
                return try task[0].run() // plain data: nothing to retain or destroy
            }
        } catch {
            appendEach(CollectionOfOne(WorkerReply(error: error)), to: &frame)
            return frame
        }
        let mark = frame.count
        frame += valuesHeader
        do {
            let format = try ChunkFormat.choose(first: output)
            switch format {
            case .raw: withUnsafeBytes(of: output) { frame.append(contentsOf: $0) }
            case .coded: try PoolChunk.append([output][...], as: .coded, to: &frame)
            }
            frame[mark + 1] = format.rawValue
        } catch {
            // An output that cannot be encoded fails its task.
            frame.removeSubrange(mark...)
            appendEach(CollectionOfOne(WorkerMain.reply(encoding: output)), to: &frame)
        }
        return frame
    }

    /// Runs `tasks` in order until one throws: the outputs before it, and its index and error.
    private static func runEach<T: ProcessTask>(_ tasks: [T]) -> (outputs: [T.Output], failure: (index: Int, error: any Error)?) {
        // None for no tasks: `unsafeUninitializedCapacity: 0` writes to the shared empty array's
        // storage (a race ThreadSanitizer reports).
        guard !tasks.isEmpty else { return ([], nil) }
        var failure: (index: Int, error: any Error)?
        let outputs = tasks.withUnsafeBufferPointer { tasks in
            [T.Output](unsafeUninitializedCapacity: tasks.count) { buffer, initialized in
                // Through the task type's own loop (compiled where it conforms): this code is not
                // specialized for `T`, and would copy, move and destroy each task and output
                // through the runtime's value witnesses.
                guard let source = tasks.baseAddress, let target = buffer.baseAddress else { return }
                let (completed, error) = T._runChunk(source, count: tasks.count, into: target)
                initialized = completed
                if let error { failure = (completed, error) }
            }
        }
        return (outputs, failure)
    }

    /// A reply frame failing each of the `count` tasks of chunk `id` with `reply`.
    static func failing(_ reply: WorkerReply, id: UInt64, count: Int, room: Int = 0) -> [UInt8] {
        var frame = header(id, room: room)
        appendEach(repeatElement(reply, count: count), to: &frame)
        return frame
    }

    private static func header(_ id: UInt64, room: Int) -> [UInt8] { WorkerMessage.replyHeader(id: id, room: room) }

    private static func appendEach<S: Sequence<WorkerReply>>(_ replies: S, to frame: inout [UInt8]) {
        frame.append(eachTask)
        appendChunk(replies.map(\.wireBytes), to: &frame)
    }

    /// How many of a reply's tasks failed (threw, or could not be run), from a reply frame whose
    /// body starts at `offset`; every task of an unreadable reply counts.
    static func failures(count: Int, in frame: [UInt8], at offset: Int) -> Int {
        guard offset < frame.count else { return count }
        switch frame[offset] {
        case allValues: return 0
        case eachTask:
            guard let parts = readChunk(frame, at: offset + 1), parts.count == count else { return count }
            return parts.reduce(0) { $0 + ($1.first == 0 ? 0 : 1) } // tag 0: a value
        default: return count
        }
    }

    /// The outcome of each of the `count` tasks, from a reply frame whose body starts at `offset`.
    /// - Throws: `ProcessError.unreadableResult` for a reply that is not one.
    static func outcomes<Output: Decodable & Sendable>(_: Output.Type, count: Int, from frame: [UInt8], at offset: Int)
        throws(ProcessError) -> ChunkOutcomes<Output> {
        guard offset < frame.count else { throw .unreadableResult("an empty reply") }
        switch frame[offset] {
        case allValues:
            do {
                guard offset + 1 < frame.count, let format = ChunkFormat(rawValue: frame[offset + 1]) else {
                    throw WireError.corrupt(offset: offset + 1, reason: "no chunk format")
                }
                let start = offset + valuesHeader.count
                if format == .raw, ChunkFormat.mayBeRaw(Output.self), PackedOutputs<Output>.fits(frame, offset: start, count: count) {
                    return .packed(PackedOutputs(frame, offset: start, count: count))
                }
                return .values(try PoolChunk.decode(Output.self, format: format, count: count, from: frame, at: start))
            } catch {
                throw .unreadableResult("\(error)")
            }
        case eachTask:
            guard let parts = readChunk(frame, at: offset + 1), parts.count == count else {
                throw .unreadableResult("a reply without one outcome per task")
            }
            do {
                return .each(try parts.map { (part) throws(WireError) in
                    let reply = try WorkerReply(wireBytes: part)
                    return Result { try reply.output(Output.self) }
                })
            } catch {
                throw .unreadableResult("\(error)")
            }
        case let tag:
            throw .unreadableResult("a reply of unknown kind \(tag)")
        }
    }
}
