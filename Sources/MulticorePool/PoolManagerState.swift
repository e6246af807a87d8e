import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading

/// What the manager thread alone holds, by worker: what it has still to write to each (its
/// socket was full; only the manager sends), the taps on its output, and the kernel's OOM kill
/// count when it started.
final class PoolManagerState {
    var bytes: [PoolMachine.WorkerID: [UInt8]] = [:]
    /// Standard output (when captured), then standard error.
    var taps: [PoolMachine.WorkerID: [OutputTap]] = [:]
    var oomKillsAtStart: [PoolMachine.WorkerID: Int?] = [:]
    /// Each worker's memory cgroup, with `memoryLimit`.
    var cgroups: [PoolMachine.WorkerID: MemoryCgroup] = [:]
    /// What the gauges were last given (with metrics).
    var recorded = (workers: -1, queued: -1, memorySampled: Int64(0))
}

/// A worker's process and its channel, as the manager reaches them.
struct PoolWorkerLink: Sendable {
    let process: ChildProcess<PoolWorker>
    /// Where its requests go (only written).
    let connection: Connection
    /// The read end of the pipe its replies come through.
    let replies: Connection
    /// Readable once the worker has ended (-1: none could be had; it is polled for).
    let exitDescriptor: Int32
    /// Its pid and name, fixed once started.
    let identity: WorkerIdentity

    init(process: ChildProcess<PoolWorker>, connection: Connection, replies: Connection) {
        self.process = process
        self.connection = connection
        self.replies = replies
        exitDescriptor = process.exitFileDescriptor
        identity = WorkerIdentity(pid: process.pid ?? 0, name: process.name)
    }
}
