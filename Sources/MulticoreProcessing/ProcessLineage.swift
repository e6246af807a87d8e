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
}
