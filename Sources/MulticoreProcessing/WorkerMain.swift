import CMulticore
import MulticoreSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The whole life of a spawned worker, entered from CMulticore's constructor before `main`.
@_cdecl("multicore_worker_main")
func multicoreWorkerMain(_ descriptor: Int32) -> Never {
    WorkerMain.serve(Connection(descriptor: descriptor, readable: true, writable: true, isSocket: true))
}

/// What a worker does with its channel to the parent, whether it was spawned or forked by the
/// fork server: receive the task, run it, send the outcome, exit (0, or 1 when the task threw,
/// as Python).
package enum WorkerMain {
    static func serve(_ connection: Connection) -> Never {
        // First the byte that carries the descriptors of the connections in the task, then the task.
        guard let descriptors = try? connection.receiveDescriptors(),
              let bytes = try? connection.recvBytes(), let request = try? WorkerRequest(wireBytes: bytes) else { exit(2) } // the parent went away
        switch request.typeName {
        case ResourceTracker.typeName:
            mc_worker_settle_interrupt(1) // a Ctrl-C is for its owner, which it outlives
            ResourceTracker.serve(connection)
        case ForkServer.typeName:
            mc_worker_settle_interrupt(1) // a Ctrl-C is for its parent and the workers it forks
            ForkServer.serve(connection)
        default: break
        }
        if let index = request.standardError, descriptors.descriptors.indices.contains(index) {
            takeStandardError(descriptors.descriptors[index])
            descriptors.descriptors[index] = -1
        }
        ProcessLineage.adopt(request)
        let type = taskType(named: request.typeName)
        // SIGINT was blocked until now: whose it is depends on the task.
        mc_worker_settle_interrupt(type.map { $0 is any InterruptIgnoringTask.Type } == true ? 1 : 0)
        guard let type else {
            try? connection.sendBytes(WorkerReply.unknownTask(request.typeName).wireBytes)
            exit(1)
        }
        let reply = runTask(type, request.payload, descriptors)
        try? connection.sendBytes(reply.wireBytes)
        if case .value = reply { exit(0) }
        exit(1)
    }

    /// Makes `pipe` (the write end its parent reads) this process's standard error, and closes
    /// it: what the task writes there, a trap's message included, reaches the parent.
    static func takeStandardError(_ pipe: Int32) {
        try? FileDescriptor(rawValue: pipe).redirect(onto: STDERR_FILENO)
        closeDescriptor(pipe)
    }

    /// The task type whose mangled name (`_mangledTypeName`) is `name`, or nil. A name that is
    /// not a plausible mangled type name is not looked up at all: the runtime's lookup trusts
    /// its input (`"$"` crashes it, and bytes below 0x20 are read as pointers).
    package static func taskType(named name: String) -> (any ProcessTask.Type)? {
        guard isPlausibleTypeName(name) else { return nil }
        return _typeByName(name) as? any ProcessTask.Type
    }

    /// Whether `name` could be a mangled type name as `_mangledTypeName` writes them: 1 to 4096
    /// ASCII letters, digits and underscores (identifiers, substitutions and punycode included).
    package static func isPlausibleTypeName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= 4096 else { return false }
        return utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
    }

    /// Runs `task` and packs its outcome: what a forked child does with a task it already has.
    package static func reply<T: ProcessTask>(running task: T) -> WorkerReply {
        do {
            return .value(try WireEncoder().encode(task.run()))
        } catch {
            return WorkerReply(error: error)
        }
    }

    /// Packs an output that a task returned (a failure if it cannot be encoded).
    package static func reply<Output: Encodable>(encoding output: Output) -> WorkerReply {
        do {
            return .value(try WireEncoder().encode(output))
        } catch {
            return WorkerReply(error: error)
        }
    }

    /// Decodes a `type` from `payload` and runs it: what a pool worker does with each task.
    package static func reply(decoding payload: [UInt8], as type: any ProcessTask.Type) -> WorkerReply {
        runTask(type, payload, nil) // a pool's tasks carry no connections
    }

    private static func runTask<T: ProcessTask>(_ type: T.Type, _ payload: [UInt8], _ descriptors: DescriptorTable?) -> WorkerReply {
        do {
            return reply(running: try WireDecoder().decode(T.self, from: payload, descriptors: descriptors))
        } catch {
            return WorkerReply(error: error)
        }
    }
}
