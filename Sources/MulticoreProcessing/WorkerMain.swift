#if canImport(Glibc)
import Glibc
#endif

/// The whole life of a spawned worker, entered from CMulticore's constructor before `main`:
/// receive the task, run it, send the outcome, exit (0, or 1 when the task threw, as Python).
@_cdecl("multicore_worker_main")
func multicoreWorkerMain(_ descriptor: Int32) {
    let connection = Connection(descriptor: descriptor, readable: true, writable: true, isSocket: true)
    // First the byte that carries the descriptors of the connections in the task, then the task.
    guard let descriptors = try? connection.receiveDescriptors(),
          let request = try? connection.recv(WorkerRequest.self) else { exit(2) } // the parent went away
    if request.typeName == ResourceTracker.typeName { ResourceTracker.serve(connection) }
    WorkerIdentity.name = request.processName
    WorkerIdentity.identity = request.identity
    WorkerIdentity.parentPID = request.parentPID
    guard let type = _typeByName(request.typeName) as? any ProcessTask.Type else {
        try? connection.send(WorkerReply.unknownTask(request.typeName))
        exit(1)
    }
    do {
        let output = try runTask(type, request.payload, descriptors)
        try? connection.send(WorkerReply.value(output))
        exit(0)
    } catch {
        try? connection.send(WorkerReply.failure(type: String(reflecting: Swift.type(of: error)),
                                                 message: String(describing: error)))
        exit(1)
    }
}

private func runTask<T: ProcessTask>(_ type: T.Type, _ payload: [UInt8], _ descriptors: DescriptorTable) throws -> [UInt8] {
    let task = try WireDecoder().decode(T.self, from: payload, descriptors: descriptors)
    return try WireEncoder().encode(task.run())
}

/// Who this process is, as its parent told it: "MainProcess" with no identity in a process
/// Multicore did not spawn. Written once, before the task runs, and only read afterwards.
enum WorkerIdentity {
    nonisolated(unsafe) static var name = "MainProcess"
    nonisolated(unsafe) static var identity: [Int] = []
    nonisolated(unsafe) static var parentPID: Int32?
}
