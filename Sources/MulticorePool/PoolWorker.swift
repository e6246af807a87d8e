import CMulticore
import MulticoreProcessing
import MulticoreSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A pool's worker process: a long-lived `ProcessTask` that runs the tasks it receives on its
/// channel, one after the other, and answers each with its id and outcome (on its replies'
/// pipe), until told to stop or the channel ends. Its own result is the number of tasks it ran.
///
/// Tasks of any type can come: each type is found by its mangled name once, then cached.
///
/// Its process ignores SIGINT (`InterruptIgnoringTask`): a Ctrl-C is for the pool's owner,
/// which decides what becomes of the pool.
struct PoolWorker: InterruptIgnoringTask {
    /// Where its requests come from (and its replies go, without `replies`).
    var channel: Connection
    /// The write end of a one-way pipe its replies go through: a pipe takes a small message
    /// for a third of what a socket costs, and its reader takes many in one read for a
    /// twentieth (a socket frees one buffer per message), which a reply per task pays.
    var replies: Connection?
    /// Run once before any task (Python's `initializer`); the worker reports how it went in its
    /// first frame (`WorkerMessage.initializerReport`), and exits if it failed.
    var initializer: PoolInitializer?
    /// The write end of the pipe the pool reads this worker's standard output from (nil: it
    /// keeps the one it inherited).
    var standardOutput: Connection?
    /// The write end of the pipe the pool reads this worker's standard error from.
    var standardError: Connection?

    /// Where this process's replies to its pool go while it is a pool worker, else -1. Set
    /// once, before the first task runs: how the tests' hostile tasks reach it, to write
    /// garbage to the pool.
    nonisolated(unsafe) static var channelDescriptor: Int32 = -1

    func run() throws -> Int {
        // A chunk's buffers (its message, tasks, outputs and reply: megabytes for a large map)
        // are allocated and freed for every chunk: their pages are kept, not faulted in anew.
        mc_malloc_keep_freed(64 << 20)
        let replies = replies ?? channel
        Self.channelDescriptor = replies.fileDescriptor
        redirectOutput()
        if let initializer {
            let failure = initializer.run()
            try replies.sendBytes(WorkerMessage.initializerReport(failure))
            if failure != nil { return 0 }
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
            if PoolRequest.isRun(message) {
                // A run request, read in place: its payload can be megabytes.
                guard let header = PoolRequest.RunHeader(message) else { return done }
                let format = header.format
                var frame: [UInt8]
                if let type = found[header.type] {
                    frame = Self.reply(running: type, id: header.id, count: header.count, format: format, message: message)
                } else {
                    frame = PoolReply.failing(.unknownTask(types[header.type] ?? "type #\(header.type)"), id: header.id,
                                              count: header.count, room: WireFrame.headerSize)
                }
                // Longer than the pool reads: the chunk fails here, and this worker carries on.
                if frame.count - WireFrame.headerSize > replies.maxFrameSize {
                    let error = WireError.oversizedFrame(size: frame.count - WireFrame.headerSize, limit: replies.maxFrameSize)
                    frame = PoolReply.failing(.failure(type: String(reflecting: WireError.self), message: "the reply \(error)"),
                                              id: header.id, count: header.count, room: WireFrame.headerSize)
                }
                // Sent before the next chunk starts: if this worker dies, the pool knows that the
                // oldest chunk it has no reply for is the one that was running.
                try replies.sendFrame(&frame)
                done += header.count
            } else {
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

    /// Makes the pipes the pool reads this worker's standard output and error.
    private func redirectOutput() {
        if let standardError {
            try? FileDescriptor(rawValue: standardError.fileDescriptor).redirect(onto: STDERR_FILENO)
            standardError.close()
        }
        if let standardOutput {
            mc_flush_stdout()
            try? FileDescriptor(rawValue: standardOutput.fileDescriptor).redirect(onto: STDOUT_FILENO)
            standardOutput.close()
            mc_line_buffer_stdout() // line by line, as the pool passes it on
        }
    }

    private static func reply<T: ProcessTask>(running type: T.Type, id: UInt64, count: Int, format: ChunkFormat, message: [UInt8]) -> [UInt8] {
        PoolReply.running(type, id: id, count: count, format: format, payload: message, at: PoolRequest.RunHeader.size,
                          room: WireFrame.headerSize)
    }
}

/// A pool's initializer, encoded: the task type's mangled name and the task's bytes.
struct PoolInitializer: Codable, Sendable {
    var typeName: String
    var payload: [UInt8]

    init<Task: ProcessTask>(_ task: Task) throws {
        typeName = try PoolJobs.typeName(of: Task.self)
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
