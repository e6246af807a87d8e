import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A process pool's rules on its workers' memory:
/// - `limit` (`memoryLimit`): each worker runs in a memory cgroup of its own, limited to it. A
///   task that goes over is killed there by the kernel, alone: it fails with
///   `PoolError.memoryLimitExceeded`, and the machine is not touched.
/// - `perChild` (`maxMemoryPerChild`): a worker whose resident memory, after a chunk, is over
///   it ends once it has answered what it holds, and a fresh one replaces it.
struct PoolMemory: Sendable {
    let limit: Int?
    let perChild: Int?
    /// The group the workers' own groups are made in (made with the pool when `limit` is set).
    let group: MemoryCgroup?

    private static let counter = Locked(0)

    /// - Throws: `PoolConfigurationError.invalidMemoryLimit` for a limit below 1 MiB,
    ///   `.memoryLimitUnavailable` when no memory cgroup can be made here.
    init(limit: Int?, perChild: Int?) throws(PoolConfigurationError) {
        if let limit, limit < 1 << 20 { throw .invalidMemoryLimit(limit) }
        if let perChild, perChild < 1 << 20 { throw .invalidMemoryLimit(perChild) }
        self.limit = limit
        self.perChild = perChild
        guard limit != nil else {
            group = nil
            return
        }
        let number = Self.counter.withLock { $0 += 1; return $0 }
        do throws(Errno) {
            group = try MemoryCgroup.make("multicore-\(getpid())-\(number)")
        } catch {
            throw .memoryLimitUnavailable(reason: "no memory cgroup could be made under this process's own: \(error) (errno \(error.rawValue))")
        }
    }

    /// Puts the worker `pid`, just started, in a memory cgroup of its own, limited; nil without
    /// a limit.
    func confine(_ pid: Int32) throws(Errno) -> MemoryCgroup? {
        guard let group, let limit else { return nil }
        let own = try MemoryCgroup.make("worker-\(pid)", under: group)
        do throws(Errno) {
            try own.limit(to: limit)
            try own.add(pid)
        } catch {
            own.remove()
            throw error
        }
        return own
    }

    /// Whether worker `pid` has grown past `perChild`.
    func outgrown(_ pid: Int32) -> Bool {
        guard let perChild, let resident = residentMemory(of: pid) else { return false }
        return resident > perChild
    }

    /// The pool has ended: its group goes (its workers' went as each ended).
    func release() { group?.remove() }
}
