import MulticorePool
import MulticoreProcessing
import PostgresNIO

/// How a task type is named in the queue and run on a node: its mangled type name (the name a
/// process pool's worker finds it by), the wire format for its value and its output, and a
/// runner that decodes a claimed row, runs it in the node's local process pool and encodes what
/// came back. A node claims only the kinds it was given.
struct ClusterTaskKind: Sendable {
    let name: String
    /// Runs a claimed task; nil when the calling task was cancelled before the task's outcome
    /// came (its worker was stopped): the node hands it back or drops it, it does not fail.
    let run: @Sendable (ClaimedTask, ProcessPoolExecutor) async -> TaskOutcome?

    /// The queue's name for `type`.
    static func name<Task: ProcessTask>(of type: Task.Type) throws(ClusterError) -> String {
        guard let name = _mangledTypeName(type) else { throw .unnamedTaskType(String(reflecting: type)) }
        return name
    }

    static func of<Task: ProcessTask>(_ type: Task.Type) throws(ClusterError) -> ClusterTaskKind {
        ClusterTaskKind(name: try name(of: type)) { claimed, executor in
            let task: Task
            do {
                task = try WireDecoder().decode(Task.self, from: Array(buffer: claimed.payload))
            } catch {
                return .failure(claimed, type: "UndecodableTask",
                                message: "the node cannot decode the task as \(String(reflecting: Task.self)): \(error)")
            }
            do {
                let output = try await executor.submit(task, timeout: claimed.timeout).value
                let bytes = try WireEncoder().encode(output)
                guard bytes.count <= ClusterLimits.maximumPayload else {
                    return .failure(claimed, type: "ResultTooLarge",
                                    message: "the result is \(bytes.count) bytes, over the cluster's limit of \(ClusterLimits.maximumPayload)")
                }
                return .success(claimed, result: ByteBuffer(bytes: bytes))
            } catch is CancellationError where Swift.Task.isCancelled {
                return nil
            } catch {
                return .failure(claimed, type: String(reflecting: Swift.type(of: error)), message: String(describing: error))
            }
        }
    }

    /// Encodes a task for the queue.
    static func payload<Task: ProcessTask>(_ task: Task) throws -> ByteBuffer {
        let bytes = try WireEncoder().encode(task)
        guard bytes.count <= ClusterLimits.maximumPayload else {
            throw ClusterError.payloadTooLarge(bytes: bytes.count, limit: ClusterLimits.maximumPayload)
        }
        return ByteBuffer(bytes: bytes)
    }
}
