/// The request a parent sends its new worker.
struct WorkerRequest: Codable {
    var typeName: String
    var processName: String
    /// Python's `Process._identity`: the child's number, after its parent's own numbers.
    var identity: [Int]
    var parentPID: Int32
    /// The parent's own name ("MainProcess", or its name as a child).
    var parentName: String = ProcessLineage.name
    var payload: [UInt8]
    /// Where, among the descriptors sent before the request, the write end of the pipe its
    /// parent reads its standard error from is (`ChildOutputReader`); nil: it keeps its own.
    var standardError: Int? = nil
}
