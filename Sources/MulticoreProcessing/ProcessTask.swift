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

/// A task that returns nothing (Python's target that returns `None`): write `func run()` and
/// conform to `ProcessAction` instead of `ProcessTask`. It runs everywhere a task runs; its
/// output is `NoOutput()`. (`Void` itself cannot be `Codable`.)
///
///     struct Log: ProcessAction {
///         var line: String
///         func run() { print(line) }
///     }
public protocol ProcessAction: ProcessTask where Output == NoOutput {
    /// The work, run in the child process.
    func run() throws
}

extension ProcessAction {
    /// Runs the action; what the child sends back.
    public func run() throws -> NoOutput {
        let action: () throws -> Void = run
        try action()
        return NoOutput()
    }
}

/// What a task that returns nothing returns: Python's `None`, as a value that crosses processes.
public struct NoOutput: Codable, Sendable, Hashable, CustomStringConvertible {
    public init() {}
    public var description: String { "NoOutput()" }
}

/// The request a parent sends its new worker.
struct WorkerRequest: Codable {
    var typeName: String
    var processName: String
    /// Python's `Process._identity`: the child's number, after its parent's own numbers.
    var identity: [Int]
    var parentPID: Int32
    /// The parent's own name ("MainProcess", or its name as a child).
    var parentName: String = WorkerIdentity.name
    var payload: [UInt8]
}

/// What a worker sends back before it exits.
///
/// Written by hand rather than through `Codable`: a forked child maps every page of code it
/// runs anew, so its last steps should run as little code as possible.
package enum WorkerReply: Equatable, Sendable {
    case value([UInt8])
    case failure(type: String, message: String)
    case unknownTask(String)

    /// A tag byte, then the case's fields in the wire format.
    package var wireBytes: [UInt8] {
        var writer = WireWriter()
        switch self {
        case .value(let bytes):
            writer.write(UInt8(0))
            writer.writeVarint(UInt64(bytes.count))
            bytes.withUnsafeBytes { writer.write(raw: $0) }
        case .failure(let type, let message):
            writer.write(UInt8(1))
            writer.write(type)
            writer.write(message)
        case .unknownTask(let name):
            writer.write(UInt8(2))
            writer.write(name)
        }
        return writer.bytes
    }

    package init(wireBytes: [UInt8]) throws(WireError) {
        var reader = WireReader(wireBytes)
        switch try reader.readByte() {
        case 0:
            let count = try reader.readCount(minimumItemSize: 1)
            try reader.require(count)
            self = .value(Array(wireBytes[reader.offset..<reader.offset + count]))
            try reader.skip(count)
        case 1: self = .failure(type: try reader.readString(), message: try reader.readString())
        case 2: self = .unknownTask(try reader.readString())
        case let tag: throw .corrupt(offset: 0, reason: "unknown worker reply tag \(tag)")
        }
        if reader.remaining > 0 { throw .trailingBytes(reader.remaining) }
    }
}

extension WorkerReply {
    /// The task's output, or the error the reply stands for.
    /// - Throws: `ProcessError.taskFailed`, `.taskNotFound`, `.unreadableResult`.
    package func output<Output: Decodable>(_ type: Output.Type) throws(ProcessError) -> Output {
        switch self {
        case .value(let bytes):
            do { return try WireDecoder().decode(Output.self, from: bytes) }
            catch { throw .unreadableResult("\(error)") }
        case .failure(let type, let message): throw .taskFailed(type: type, message: message)
        case .unknownTask(let name): throw .taskNotFound(name)
        }
    }
}
