import MulticoreProcessing

/// What a pool sends a worker: a task to run, or the order to stop.
enum PoolRequest: Codable {
    /// `typeName` is the task type's mangled name; `payload` the task, encoded.
    case run(id: UInt64, typeName: String, payload: [UInt8])
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
        var types: [String: any ProcessTask.Type] = [:]
        var done = 0
        while true {
            let request: PoolRequest
            do { request = try channel.recv(PoolRequest.self) } catch { return done } // the pool went away
            guard case .run(let id, let typeName, let payload) = request else { return done }
            let reply: WorkerReply
            if let type = types[typeName] ?? (_typeByName(typeName) as? any ProcessTask.Type) {
                types[typeName] = type
                reply = WorkerMain.reply(decoding: payload, as: type)
            } else {
                reply = .unknownTask(typeName)
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
