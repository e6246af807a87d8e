import CMulticore
import MulticoreProcessing

/// What a pool sends a worker: a chunk of tasks to run, or the order to stop.
///
/// Written by hand, one byte message each (a tag, then fixed-width fields, then the rest):
/// a pool sends one per chunk, and `Codable`'s enum machinery (case names as strings) would
/// cost more than a small task.
enum PoolRequest: Equatable {
    /// Names a task type once per worker: later tasks of that type refer to it by `index`.
    case define(index: UInt32, typeName: String)
    /// `count` tasks of one type (the index of its type), in one `PoolChunk` payload of
    /// `format`; one reply for all.
    case run(id: UInt64, type: UInt32, count: UInt32, format: ChunkFormat, payload: [UInt8])
    case stop

    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        appendBody(to: &bytes)
        return bytes
    }

    private func appendBody(to bytes: inout [UInt8]) {
        switch self {
        case .define(let index, let typeName):
            bytes.append(0)
            withUnsafeBytes(of: index.littleEndian) { bytes += $0 }
            bytes += Array(typeName.utf8)
        case .run(let id, let type, let count, let format, let payload):
            bytes.reserveCapacity(bytes.count + Self.payloadOffset + payload.count)
            bytes.append(1)
            withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: type.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: count.littleEndian) { bytes += $0 }
            bytes.append(format.rawValue)
            bytes += payload
        case .stop:
            bytes.append(2)
        }
    }

    /// The largest payload a run request can carry in one frame of at most `frameLimit` bytes.
    static func maximumPayload(frameLimit: Int) -> Int { frameLimit - payloadOffset }

    /// Appends this request to `outbox` as one wire frame (length, CRC-32C, body), built in place.
    func appendFrame(to outbox: inout [UInt8]) {
        let start = outbox.count
        outbox.append(contentsOf: repeatElement(0, count: WireFrame.headerSize))
        appendBody(to: &outbox)
        let length = outbox.count - start - WireFrame.headerSize
        outbox.withUnsafeMutableBytes { raw in
            let checksum = mc_crc32c(raw.baseAddress! + start + WireFrame.headerSize, length, 0)
            raw.storeBytes(of: UInt32(length).littleEndian, toByteOffset: start, as: UInt32.self)
            raw.storeBytes(of: checksum.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// Where a run request's payload starts.
    static let payloadOffset = 18

    /// Nil for a malformed message.
    init?(bytes: [UInt8]) {
        guard let tag = bytes.first else { return nil }
        func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
            guard bytes.count >= offset + MemoryLayout<T>.size else { return nil }
            return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        switch tag {
        case 0:
            guard let index = load(UInt32.self, at: 1) else { return nil }
            self = .define(index: index, typeName: String(decoding: bytes[5...], as: UTF8.self))
        case 1:
            guard let id = load(UInt64.self, at: 1), let type = load(UInt32.self, at: 9),
                  let count = load(UInt32.self, at: 13), let format = load(UInt8.self, at: 17).flatMap(ChunkFormat.init) else { return nil }
            self = .run(id: id, type: type, count: count, format: format, payload: Array(bytes[Self.payloadOffset...]))
        case 2:
            self = .stop
        default:
            return nil
        }
    }
}

/// Appends a count (UInt32), then each part as a length (UInt32) and its bytes.
func appendChunk(_ parts: [[UInt8]], to bytes: inout [UInt8]) {
    withUnsafeBytes(of: UInt32(parts.count).littleEndian) { bytes += $0 }
    for part in parts {
        withUnsafeBytes(of: UInt32(part.count).littleEndian) { bytes += $0 }
        bytes += part
    }
}

/// Reads what `appendChunk` wrote, from `offset` to the end; nil when malformed.
func readChunk(_ bytes: [UInt8], at offset: Int) -> [[UInt8]]? {
    func load(at position: Int) -> Int? {
        guard position >= 0, bytes.count >= position + 4 else { return nil }
        return Int(bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt32.self)) })
    }
    guard let count = load(at: offset), count <= (bytes.count - offset) / 4 else { return nil }
    var parts: [[UInt8]] = []
    parts.reserveCapacity(count)
    var position = offset + 4
    for _ in 0..<count {
        guard let length = load(at: position), bytes.count - position - 4 >= length else { return nil }
        parts.append(Array(bytes[position + 4 ..< position + 4 + length]))
        position += 4 + length
    }
    return position == bytes.count ? parts : nil
}

/// A pool's worker process: a long-lived `ProcessTask` that runs the tasks it receives on its
/// channel, one after the other, and answers each with its id and outcome, until told to stop
/// or the channel ends. Its own result is the number of tasks it ran.
///
/// Tasks of any type can come: each type is found by its mangled name once, then cached.
struct PoolWorker: ProcessTask {
    var channel: Connection
    /// Run once before any task (Python's `initializer`); if it fails, the worker says so in a
    /// frame with id 0 and exits.
    var initializer: PoolInitializer?

    /// This process's channel to its pool while it is a pool worker, else -1. Set once, before
    /// the first task runs: how the tests' hostile tasks reach it, to write garbage to the pool.
    nonisolated(unsafe) static var channelDescriptor: Int32 = -1

    func run() throws -> Int {
        Self.channelDescriptor = channel.fileDescriptor
        if let initializer, let failure = initializer.run() {
            var frame = [UInt8](repeating: 0, count: 8) // id 0: not a chunk's reply
            frame += failure.wireBytes
            try? channel.sendBytes(frame)
            return 0
        }
        var types: [UInt32: String] = [:]
        var found: [UInt32: any ProcessTask.Type] = [:]
        var done = 0
        while true {
            let message: [UInt8]
            do {
                message = try channel.recvBytes()
            } catch {
                return done // the pool went away
            }
            switch message.first {
            case 1:
                // A run request, read in place: its payload can be megabytes.
                guard message.count >= PoolRequest.payloadOffset, let format = ChunkFormat(rawValue: message[17]) else { return done }
                let header = message.withUnsafeBytes { raw in
                    (id: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self)),
                     type: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: UInt32.self)),
                     count: Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 13, as: UInt32.self))))
                }
                var frame: [UInt8]
                if let type = found[header.type] {
                    frame = Self.reply(running: type, id: header.id, count: header.count, format: format, message: message)
                } else {
                    frame = PoolReply.failing(.unknownTask(types[header.type] ?? "type #\(header.type)"), id: header.id,
                                              count: header.count, room: WireFrame.headerSize)
                }
                // Longer than the pool reads: the chunk fails here, and this worker carries on.
                if frame.count - WireFrame.headerSize > channel.maxFrameSize {
                    let error = WireError.oversizedFrame(size: frame.count - WireFrame.headerSize, limit: channel.maxFrameSize)
                    frame = PoolReply.failing(.failure(type: String(reflecting: WireError.self), message: "the reply \(error)"),
                                              id: header.id, count: header.count, room: WireFrame.headerSize)
                }
                // Sent before the next chunk starts: if this worker dies, the pool knows that the
                // oldest chunk it has no reply for is the one that was running.
                try channel.sendFrame(&frame)
                done += header.count
            default:
                switch PoolRequest(bytes: message) {
                case .define(let number, let typeName)?:
                    types[number] = typeName
                    found[number] = WorkerMain.taskType(named: typeName)
                case .stop?, .run?, nil:
                    return done // stopped, or not a pool talking
                }
            }
        }
    }

    private static func reply<T: ProcessTask>(running type: T.Type, id: UInt64, count: Int, format: ChunkFormat, message: [UInt8]) -> [UInt8] {
        PoolReply.running(type, id: id, count: count, format: format, payload: message, at: PoolRequest.payloadOffset,
                          room: WireFrame.headerSize)
    }
}

/// A pool's initializer, encoded: the task type's mangled name and the task's bytes.
struct PoolInitializer: Codable, Sendable {
    var typeName: String
    var payload: [UInt8]

    init<Task: ProcessTask>(_ task: Task) throws {
        typeName = try PoolSupervisor.typeName(of: Task.self)
        payload = try WireEncoder().encode(task)
    }

    /// Runs it here; nil when it succeeded, else what went wrong.
    func run() -> WorkerReply? {
        guard let type = WorkerMain.taskType(named: typeName) else { return .unknownTask(typeName) }
        let reply = WorkerMain.reply(decoding: payload, as: type)
        if case .value = reply { return nil }
        return reply
    }
}
