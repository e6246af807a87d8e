import MulticoreTestSupport
import Testing
@testable import MulticoreThreading

/// A `ThreadPoolExecutor` as a Swift task executor: code that prefers it runs on its threads.
@Suite struct ThreadPoolTaskExecutorTests {
    /// The name of the thread running now ("te_0"), or "" off Multicore's threads.
    static func threadName() -> String { Threading.currentThread.name }

    @Test func aTaskThatPrefersThePoolRunsOnItsThreads() async throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2, threadNamePrefix: "te")
        defer { pool.core.shutdown(wait: false, cancelFutures: false) }
        let seen = Locked<[String]>([])
        Task(executorPreference: pool) {
            seen.withLock { $0.append(Self.threadName()) }
            try? await Task.sleep(for: .milliseconds(1)) // after a suspension, back on the pool
            seen.withLock { $0.append(Self.threadName()) }
        }
        #expect(await eventually { seen.withLock { $0.count } == 2 })
        #expect(seen.withLock { $0.allSatisfy { $0.hasPrefix("te_") } }, "\(seen.withLock { $0 })")
    }

    @Test func taskGroupChildrenAndPreferredScopesRunOnThePool() async throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2, threadNamePrefix: "tg")
        defer { pool.core.shutdown(wait: false, cancelFutures: false) }
        let names = await withTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask(executorPreference: pool) { Self.threadName() } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(names.count == 8 && Set(names).isSubset(of: ["tg_0", "tg_1"]), "\(names)")
        let inside = await withTaskExecutorPreference(pool) { Self.threadName() }
        #expect(inside.hasPrefix("tg_"))
    }

    /// A pool that is shut down takes no job, but a task that prefers it still finishes (on the
    /// global executor): never a task that hangs.
    @Test func aTaskPreferringAPoolThatIsGoneStillFinishes() async throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 1, threadNamePrefix: "gone")
        pool.core.shutdown(wait: false, cancelFutures: false)
        let done = Locked<String?>(nil)
        Task(executorPreference: pool) { done.withLock { $0 = Self.threadName() } }
        #expect(await eventually { done.withLock { $0 } != nil })
        #expect(done.withLock { $0 }?.hasPrefix("gone_") == false)
    }
}
