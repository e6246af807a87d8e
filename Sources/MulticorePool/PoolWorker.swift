import MulticoreProcessing

/// What a pool sends a worker: a task to run, or the order to stop.
///
/// Written by hand, one byte message each (a tag, then fixed-width fields, then the rest):
/// a pool sends one per task, and `Codable`'s enum machinery (case names as strings) would
/// cost more than the task.
enum PoolRequest: Equatable {
    /// Names a task type once per worker: later tasks of that type refer to it by `index`.
    case define(index: UInt32, typeName: String)
    /// A chunk of tasks of one type (the index of its type), each encoded; one reply for all.
    case run(id: UInt64, type: UInt32, payloads: [[UInt8]])
    case stop

    var bytes: [UInt8] {
        var bytes: [UInt8]
        switch self {
        case .define(let index, let typeName):
            bytes = [0]
            withUnsafeBytes(of: index.littleEndian) { bytes += $0 }
            bytes += Array(typeName.utf8)
        case .run(let id, let type, let payloads):
            bytes = [1]
            bytes.reserveCapacity(17 + payloads.reduce(0) { $0 + 4 + $1.count })
            withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: type.littleEndian) { bytes += $0 }
            appendChunk(payloads, to: &bytes)
        case .stop:
            bytes = [2]
        }
        return bytes
    }

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
                  let payloads = readChunk(bytes, at: 13) else { return nil }
            self = .run(id: id, type: type, payloads: payloads)
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

    func run() throws -> Int {
        var types: [UInt32: String] = [:]
        var found: [UInt32: any ProcessTask.Type] = [:]
        var done = 0
        while true {
            let request: PoolRequest
            do {
                guard let decoded = PoolRequest(bytes: try channel.recvBytes()) else { return done } // not from a pool
                request = decoded
            } catch {
                return done // the pool went away
            }
            let id: UInt64, index: UInt32, payloads: [[UInt8]]
            switch request {
            case .stop: return done
            case .define(let number, let typeName):
                types[number] = typeName
                found[number] = _typeByName(typeName) as? any ProcessTask.Type
                continue
            case .run(let number, let type, let chunk): (id, index, payloads) = (number, type, chunk)
            }
            let replies: [[UInt8]] = payloads.map { payload in
                guard let type = found[index] else { return WorkerReply.unknownTask(types[index] ?? "type #\(index)").wireBytes }
                return WorkerMain.reply(decoding: payload, as: type).wireBytes
            }
            // Sent before the next chunk starts: if this worker dies, the pool knows that the
            // oldest chunk it has no reply for is the one that was running.
            var frame = [UInt8]()
            withUnsafeBytes(of: id.littleEndian) { frame.append(contentsOf: $0) }
            appendChunk(replies, to: &frame)
            try channel.sendBytes(frame)
            done += payloads.count
        }
    }
}
