import CoreMetrics
import MulticoreProcessing

/// A process pool's swift-metrics instruments, made once with the pool, and only when a metrics
/// backend has been bootstrapped (`MetricsSystem.bootstrap`, or `withMetricsFactory` around the
/// pool's creation): without one the pool records nothing and pays nothing. Every instrument has the dimension `pool` (the pool's label).
///
/// - `multicore.tasks` (counter), dimension `status`: succeeded, failed (the task threw),
///   timed_out, worker_died (its worker died, broke the protocol or went over `memoryLimit`),
///   cancelled, retried.
/// - `multicore.task.duration` (timer): a task's time on its worker, from when its worker
///   started it to its reply (for a chunk of several tasks, their mean, once per chunk).
/// - `multicore.workers`, `multicore.queue.depth` (gauges): workers alive, chunks queued (a
///   submitted task is a chunk of one; a map's chunk holds `chunksize` tasks).
/// - `multicore.worker.exits` (counter), dimension `reason`: exited, trapped, crashed,
///   stopped_by_owner, memory_limit, out_of_memory, killed.
/// - `multicore.worker.resident_memory` (gauge): the workers' resident memory together, in
///   bytes, sampled at most once a second while the pool works.
struct PoolMetrics: Sendable {
    let label: String
    /// The backend, as it was when the pool was made (`withMetricsFactory` included).
    let factory: any MetricsFactory
    let succeeded, failed, timedOut, workerDied, cancelled, retried: Counter
    let duration: Timer
    let workers, queueDepth, residentMemory: Gauge

    /// nil when no metrics backend is bootstrapped.
    init?(label: String) {
        let factory = MetricsSystem.factory
        guard !(factory is NOOPMetricsHandler) else { return nil }
        self.label = label
        self.factory = factory
        let pool = [("pool", label)]
        let tasks = { (status: String) in Counter(label: "multicore.tasks", dimensions: pool + [("status", status)], factory: factory) }
        succeeded = tasks("succeeded")
        failed = tasks("failed")
        timedOut = tasks("timed_out")
        workerDied = tasks("worker_died")
        cancelled = tasks("cancelled")
        retried = tasks("retried")
        duration = Timer(label: "multicore.task.duration", dimensions: pool, factory: factory)
        workers = Gauge(label: "multicore.workers", dimensions: pool, factory: factory)
        queueDepth = Gauge(label: "multicore.queue.depth", dimensions: pool, factory: factory)
        residentMemory = Gauge(label: "multicore.worker.resident_memory", dimensions: pool, factory: factory)
    }

    /// Counts a worker's end, by its reason.
    func exited(_ reason: ExitReason) {
        Counter(label: "multicore.worker.exits", dimensions: [("pool", label), ("reason", Self.name(of: reason))], factory: factory).increment()
    }

    /// The reason's name as a dimension value.
    static func name(of reason: ExitReason) -> String {
        switch reason {
        case .exited: "exited"
        case .trapped: "trapped"
        case .crashed: "crashed"
        case .stoppedByOwner: "stopped_by_owner"
        case .memoryLimit: "memory_limit"
        case .outOfMemory: "out_of_memory"
        case .killed: "killed"
        }
    }
}
