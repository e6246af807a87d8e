import CMulticore
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// In a spawned worker, on its main thread: spawns a grandchild and reports whether it ran on
/// the main thread, whether that started the spawner thread, and the grandchild's result.
struct SpawnsFromItsMainThread: ProcessTask {
    func run() throws -> [Int] {
        let onMainThread = mc_gettid() == mc_getpid()
        let grandchild = ChildProcess(task: Doubler(number: 21), startMethod: .spawn)
        try grandchild.start()
        guard try grandchild.join(timeout: .seconds(20)) else { return [] }
        return [onMainThread ? 1 : 0, SpawnLauncher.hasThread ? 1 : 0, try grandchild.result()]
    }
}

/// In a spawned worker: spawns a grandchild from a thread of its own and reports whether that
/// started the spawner thread, and the grandchild's result.
struct SpawnsFromAnotherThread: ProcessTask {
    func run() throws -> [Int] {
        let thread = ValueThread { () throws -> [Int] in
            let onMainThread = mc_gettid() == mc_getpid()
            let grandchild = ChildProcess(task: Doubler(number: 4), startMethod: .spawn)
            try grandchild.start()
            guard try grandchild.join(timeout: .seconds(20)) else { return [] }
            return [onMainThread ? 1 : 0, SpawnLauncher.hasThread ? 1 : 0, try grandchild.result()]
        }
        try thread.start()
        try thread.join()
        return try thread.value()
    }
}

/// Who spawns a worker: the main thread itself (it lives as long as the process), any other
/// thread through the spawner thread (a worker's parent-death signal follows the thread that
/// spawned it, and other threads end). That a worker spawned by the main thread still dies
/// with its parent is `OrphanTests`' spawn case (its child spawns from its main thread).
@Suite(.timeLimit(.minutes(2))) struct SpawnThreadTests {
    @Test func theMainThreadSpawnsWithoutTheSpawnerThread() throws {
        let child = ChildProcess(task: SpawnsFromItsMainThread(), startMethod: .spawn)
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == [1, 0, 42])
    }

    @Test func anotherThreadSpawnsThroughTheSpawnerThread() throws {
        // In a fresh process, where no spawn came before.
        let child = ChildProcess(task: SpawnsFromAnotherThread(), startMethod: .spawn)
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == [0, 1, 8])
    }
}
