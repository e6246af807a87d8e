import MulticoreProcessing

/// What a pool sends a worker: a task to run, or the order to stop.
enum PoolRequest: Codable {
    /// Names a task type once per worker: later tasks of that type refer to it by `index`.
    case define(index: UInt32, typeName: String)
    /// `payload` is the task, encoded; `type` the index of its type.
    case run(id: UInt64, type: UInt32, payload: [UInt8])
    case stop
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
            do { request = try channel.recv(PoolRequest.self) } catch { return done } // the pool went away
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
