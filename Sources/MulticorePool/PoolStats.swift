import MulticoreThreading

/// A snapshot of a process pool (`ProcessPoolExecutor.stats`, `Pool.stats`): its workers, what
/// is queued, and how its tasks have ended so far.
public struct PoolStats: Sendable, CustomStringConvertible {
    /// One worker, as the pool sees it.
    public struct Worker: Sendable, CustomStringConvertible {
        /// Where a worker is in its life.
        public enum State: String, Sendable {
            /// Serving, with no task.
            case idle
            /// Serving, running a task.
            case busy
            /// Ends once it has answered what it holds (`maxTasksPerChild`, `maxMemoryPerChild`).
            case retiring
            /// Its initializer threw: it is ending.
            case initializerFailed = "initializer failed"
            /// Signalled by the pool (a timeout, a cancel, `terminate`): it is ending.
            case stopping
        }

        public let identity: WorkerIdentity
        public let state: State
        /// The task it is running, described (nil when idle).
        public let currentTask: String?
        /// Tasks it has answered.
        public let tasksDone: Int
        /// Its resident memory in bytes (nil if it could not be read).
        public let residentMemory: Int?

        /// "SpawnProcess-1 (pid 4242) busy, 12 done, 10.4 MB: Twice(value: 3)".
        public var description: String {
            let memory = residentMemory.map { ", " + String(Double($0 / 100_000) / 10) + " MB" } ?? ""
            return "\(identity) \(state.rawValue), \(tasksDone) done\(memory)" + (currentTask.map { ": " + $0 } ?? "")
        }
    }

    /// How many tasks have ended so far, by outcome (a chunk of a map counts as its tasks).
    public struct Totals: Sendable, Equatable {
        public internal(set) var succeeded = 0
        /// The task threw.
        public internal(set) var failed = 0
        public internal(set) var timedOut = 0
        /// Its worker died, broke the protocol or went over the memory limit.
        public internal(set) var workerDied = 0
        public internal(set) var cancelled = 0
        /// Run again after its worker died (counted once per new run).
        public internal(set) var retried = 0
    }

    /// The pool's label ("ProcessPoolExecutor-1", or the one given).
    public let label: String
    /// The workers alive, in the order they started.
    public let workers: [Worker]
    /// Tasks queued, not yet given to a worker.
    public let queued: Int
    public let totals: Totals

    /// Several lines: the pool, its totals, one line per worker.
    public var description: String {
        let counts = "succeeded \(totals.succeeded), failed \(totals.failed), timed out \(totals.timedOut), "
            + "worker died \(totals.workerDied), cancelled \(totals.cancelled), retried \(totals.retried)"
        return (["\(label): \(workers.count) workers, \(queued) queued; \(counts)"] + workers.map { "  \($0)" }).joined(separator: "\n")
    }
}
