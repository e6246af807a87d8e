import MulticorePool
import MulticoreProcessing
import MulticoreThreading
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
    /// Runs claimed tasks (none with a timeout) as one chunk on one worker of the local pool: one
    /// message each way for them all, where one by one each costs a round trip through the pool.
    /// A task that throws fails alone; a worker that dies during the chunk makes it `.lost`.
    let runBatch: @Sendable ([ClaimedTask], ProcessPoolExecutor) async -> BatchOutcome

    enum BatchOutcome: Sendable {
        /// Each task's outcome, in order.
        case outcomes([TaskOutcome])
        /// The calling task was cancelled before the outcomes came (the worker was stopped).
        case stopped
        /// The worker died during the chunk, or its reply was unreadable: which task did it is
        /// not known, so the node runs each again alone (each then gets its own outcome).
        case lost
    }

    /// The queue's name for `type`.
    static func name<Task: ProcessTask>(of type: Task.Type) throws(ClusterError) -> String {
        guard let name = _mangledTypeName(type) else { throw .unnamedTaskType(String(reflecting: type)) }
        return name
    }

    static func of<Task: ProcessTask>(_ type: Task.Type) throws(ClusterError) -> ClusterTaskKind {
        let retries = retriesOnError(of: type)
        return ClusterTaskKind(name: try name(of: type), run: { claimed, executor in
            let task: Task
            switch decode(Task.self, claimed) {
            case .success(let decoded): task = decoded
            case .failure(let undecodable): return undecodable
            }
            do {
                return outcome(claimed, output: try await executor.submit(task, timeout: claimed.timeout).value)
            } catch is CancellationError where Swift.Task.isCancelled {
                return nil
            } catch {
                return failure(claimed, error, retries: retries)
            }
        }, runBatch: { claimed, executor in
            var outcomes = [TaskOutcome?](repeating: nil, count: claimed.count)
            var tasks: [Task] = [], positions: [Int] = []
            tasks.reserveCapacity(claimed.count)
            positions.reserveCapacity(claimed.count)
            for (position, row) in claimed.enumerated() {
                switch decode(Task.self, row) {
                case .success(let task):
                    tasks.append(task)
                    positions.append(position)
                case .failure(let undecodable): outcomes[position] = undecodable
                }
            }
            if !tasks.isEmpty {
                let chunk: ChunkOutcomes<Task.Output>
                do {
                    chunk = try await executor.submitChunk(tasks).value
                } catch is CancellationError where Swift.Task.isCancelled {
                    return .stopped
                } catch {
                    // The worker died (or its reply was unreadable): which task did it is not known.
                    return .lost
                }
                guard chunk.count == tasks.count else { return .lost }
                switch chunk {
                case .values(let outputs):
                    for (position, output) in zip(positions, outputs) { outcomes[position] = outcome(claimed[position], output: output) }
                case .packed(let packed):
                    for (position, output) in zip(positions, packed.unpacked()) { outcomes[position] = outcome(claimed[position], output: output) }
                case .each(let results):
                    for (position, result) in zip(positions, results) {
                        switch result {
                        case .success(let output): outcomes[position] = outcome(claimed[position], output: output)
                        case .failure(let error): outcomes[position] = failure(claimed[position], error, retries: retries)
                        }
                    }
                }
            }
            return .outcomes(outcomes.compactMap { $0 }) // each position was set above
        })
    }

    /// The task a claimed row holds, or the failure of a row that cannot be decoded as `Task`.
    private static func decode<Task: ProcessTask>(_: Task.Type, _ claimed: ClaimedTask) -> Decoded<Task> {
        do {
            return .success(try WireDecoder().decode(Task.self, from: Array(buffer: claimed.payload)))
        } catch {
            return .failure(TaskOutcome.failure(claimed, type: "UndecodableTask",
                                                message: "the node cannot decode the task as \(String(reflecting: Task.self)): \(error)"))
        }
    }

    /// A claimed row decoded: its task, or the failure it ends with.
    private enum Decoded<Task> {
        case success(Task)
        case failure(TaskOutcome)
    }

    /// The outcome of a task that returned `output`: its encoding, or a failure when it is too large.
    private static func outcome<Output: Codable>(_ claimed: ClaimedTask, output: Output) -> TaskOutcome {
        do {
            let bytes = try WireEncoder().encode(output)
            guard bytes.count <= ClusterLimits.maximumPayload else {
                return .failure(claimed, type: "ResultTooLarge",
                                message: "the result is \(bytes.count) bytes, over the cluster's limit of \(ClusterLimits.maximumPayload)")
            }
            return .success(claimed, result: ByteBuffer(bytes: bytes))
        } catch {
            return failure(claimed, error)
        }
    }

    /// The outcome of a task that failed with `error`: it runs again (`retry`) when the task
    /// threw it and its type asks for `retries` retries that this attempt has not used up.
    private static func failure(_ claimed: ClaimedTask, _ error: any Error, retries: Int = 0) -> TaskOutcome {
        let type = String(reflecting: Swift.type(of: error)), message = String(describing: error)
        if Int(claimed.attempt) <= retries, isThrownByTask(error) { return .retry(claimed, type: type, message: message) }
        return .failure(claimed, type: type, message: message)
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
