/// Work to run in a child process: a `Codable` value whose type names the work and whose
/// fields are its arguments. Corresponds to the `target` and `args` of Python's
/// `multiprocessing.Process`, with a result (a Python process returns nothing).
///
/// The child is a fresh copy of the same executable: it finds the type by its mangled name,
/// decodes the value and calls `run()`; what `run()` returns comes back to the parent. What
/// cannot cross to another process does not compile (no run-time pickling errors).
public protocol ProcessTask: Codable, Sendable {
    /// What the task returns to the parent.
    associatedtype Output: Codable & Sendable
    /// The work, run in the child process.
    func run() throws -> Output
}

/// The request a parent sends its new worker.
struct WorkerRequest: Codable {
    var typeName: String
    var processName: String
    /// Python's `Process._identity`: the child's number, after its parent's own numbers.
    var identity: [Int]
    var parentPID: Int32
    var payload: [UInt8]
}

/// What a worker sends back before it exits.
enum WorkerReply: Codable {
    case value([UInt8])
    case failure(type: String, message: String)
    case unknownTask(String)
}
