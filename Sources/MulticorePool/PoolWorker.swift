import MulticoreProcessing

/// What a pool sends a worker: a task to run, or the order to stop.
///
/// Written by hand, one byte message each (a tag, then fixed-width fields, then the rest):
/// a pool sends one per task, and `Codable`'s enum machinery (case names as strings) would
/// cost more than the task.
enum PoolRequest: Equatable {
    /// Names a task type once per worker: later tasks of that type refer to it by `index`.
    case define(index: UInt32, typeName: String)
    /// `payload` is the task, encoded; `type` the index of its type.
    case run(id: UInt64, type: UInt32, payload: [UInt8])
    case stop

    var bytes: [UInt8] {
        var bytes: [UInt8]
        switch self {
        case .define(let index, let typeName):
            bytes = [0]
            withUnsafeBytes(of: index.littleEndian) { bytes += $0 }
            bytes += Array(typeName.utf8)
        case .run(let id, let type, let payload):
            bytes = [1]
            bytes.reserveCapacity(13 + payload.count)
            withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: type.littleEndian) { bytes += $0 }
            bytes += payload
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
            guard let id = load(UInt64.self, at: 1), let type = load(UInt32.self, at: 9) else { return nil }
            self = .run(id: id, type: type, payload: Array(bytes[13...]))
        case 2:
            self = .stop
        default:
            return nil
        }
    }
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
            let id: UInt64, index: UInt32, payload: [UInt8]
            switch request {
            case .stop: return done
            case .define(let number, let typeName):
                types[number] = typeName
                found[number] = _typeByName(typeName) as? any ProcessTask.Type
                continue
            case .run(let number, let type, let bytes): (id, index, payload) = (number, type, bytes)
            }
            let reply: WorkerReply
            if let type = found[index] {
                reply = WorkerMain.reply(decoding: payload, as: type)
            } else {
                reply = .unknownTask(types[index] ?? "type #\(index)")
            }
            // Sent before the next task starts: if this worker dies, the pool knows that the
            // oldest task it has no result for is the one that was running.
            var frame = [UInt8]()
            withUnsafeBytes(of: id.littleEndian) { frame.append(contentsOf: $0) }
            frame += reply.wireBytes
            try channel.sendBytes(frame)
            done += 1
        }
    }
}
