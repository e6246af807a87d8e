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

    /// Runs `count` tasks from `tasks`, in order, into `outputs`, stopping at the first that
    /// throws: how many ran, and that one's error. What a pool's worker runs a chunk with.
    ///
    /// Not for users to implement (the default is the one to use): it is a requirement, not a
    /// function of the pool, so that its loop is compiled for each task type where the type
    /// conforms, calling `run()` directly and storing each output in place, instead of running
    /// through generic code that copies, moves and destroys every task and output through the
    /// runtime's value witnesses.
    static func _runChunk(_ tasks: UnsafePointer<Self>, count: Int, into outputs: UnsafeMutablePointer<Output>)
        -> (completed: Int, error: (any Error)?)

    /// Appends to `outputs` the values of `Output` whose memory `bytes` holds, one after
    /// another. What a pool's manager appends a chunk's outputs to its map's array with, when
    /// they came as plain data (the pool has checked that `Output` is: never call it otherwise).
    ///
    /// Not for users to implement (the default is the one to use): a requirement, as
    /// `_runChunk`, so that the copy is compiled for each output type where the task type
    /// conforms, not run through generic code that looks up metadata for every chunk.
    static func _appendPlainOutputs(_ bytes: UnsafeRawBufferPointer, to outputs: inout [Output])
}

extension ProcessTask {
    @inlinable
    public static func _runChunk(_ tasks: UnsafePointer<Self>, count: Int, into outputs: UnsafeMutablePointer<Output>)
        -> (completed: Int, error: (any Error)?) {
        var index = 0
        while index < count {
            do {
                (outputs + index).initialize(to: try tasks[index].run())
            } catch {
                return (index, error)
            }
            index += 1
        }
        return (count, nil)
    }

    @inlinable
    public static func _appendPlainOutputs(_ bytes: UnsafeRawBufferPointer, to outputs: inout [Output]) {
        let stride = MemoryLayout<Output>.stride
        let count = bytes.count / stride
        guard count > 0, let start = bytes.baseAddress else { return }
        if Int(bitPattern: start) % MemoryLayout<Output>.alignment == 0 {
            start.withMemoryRebound(to: Output.self, capacity: count) { outputs.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
            return
        }
        var index = 0
        while index < count {
            withUnsafeTemporaryAllocation(of: Output.self, capacity: 1) { value in
                // Plain data: its bytes are the value, with nothing to retain.
                UnsafeMutableRawPointer(value.baseAddress!).copyMemory(from: start + index * stride, byteCount: MemoryLayout<Output>.size)
                outputs.append(value.baseAddress!.move())
            }
            index += 1
        }
    }
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
