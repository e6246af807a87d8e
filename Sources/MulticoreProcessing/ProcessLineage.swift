import Synchronization

/// Who this process is, as its parent told it: "MainProcess" with no identity in a process
/// Multicore did not start. Written once, before the task runs, and only read afterwards.
enum ProcessLineage {
    nonisolated(unsafe) static var name = "MainProcess"
    nonisolated(unsafe) static var identity: [Int] = []
    nonisolated(unsafe) static var parentPID: Int32?
    nonisolated(unsafe) static var parentName = ""

    static func adopt(_ request: WorkerRequest) {
        name = request.processName
        identity = request.identity
        parentPID = request.parentPID
        parentName = request.parentName
    }

    /// The number of the next child this process starts (1, 2...): its last number in `identity`.
    static func nextChildNumber() -> Int { processCounter.wrappingAdd(1, ordering: .relaxed).newValue }
}

/// Python's `multiprocessing.process._process_counter`: numbers "Process-N".
private let processCounter = Atomic<Int>(0)

/// The name of the calling process: the name its parent gave it ("Process-1", "Process-1:2" for
/// a grandchild), or "MainProcess". Corresponds to Python's `multiprocessing.current_process().name`.
public func currentProcessName() -> String { ProcessLineage.name }

/// The pid of the process that spawned this one, nil in a process Multicore did not spawn.
/// Corresponds to Python's `multiprocessing.parent_process().pid`.
public func parentProcessID() -> Int32? { ProcessLineage.parentPID }
