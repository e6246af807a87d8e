import Testing
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading
import MulticoreTestSupport

/// An async call's callback runs before its result is ready, as Python's `ApplyResult._set` and
/// `MapResult._set` call it before they set their event: a `get` that returned has seen the
/// callback run, and a callback still running keeps the result not ready.
@Suite(.timeLimit(.minutes(5))) struct PoolCallbackTests {
    enum Call: String, CaseIterable { case apply, mapArray, mapLazy }

    /// Starts `call` over `tasks` (`apply`: the first) with callbacks that record what they got
    /// and then block until released; returns what `get` gives, whether the result was ready
    /// while a callback blocked (nil: no callback ran in time), and what the callback got.
    private static func heldInItsCallback<T: ProcessTask>(_ pool: Pool, _ tasks: [T], _ call: Call)
        throws -> (get: () throws -> [T.Output], readyWhileCalledBack: Bool?, got: String?) {
        let entered = Event(), release = Event()
        let got = Locked<String?>(nil)
        let hold: @Sendable (String) -> Void = { seen in
            got.withLock { $0 = seen }
            entered.set()
            _ = try? release.wait(timeout: testDeadline)
        }
        let onError: @Sendable (any Error) -> Void = { hold("error \(type(of: $0))") }
        let isReady: () -> Bool
        let get: () throws -> [T.Output]
        switch call {
        case .apply:
            let result = try pool.applyAsync(tasks[0], callback: { hold("output \($0)") }, errorCallback: onError)
            (isReady, get) = ({ result.isReady }, { [try result.get(timeout: testDeadline)] })
        case .mapArray:
            let result = try pool.mapAsync(tasks, callback: { hold("\($0.count) outputs") }, errorCallback: onError)
            (isReady, get) = ({ result.isReady }, { try result.get(timeout: testDeadline) })
        case .mapLazy:
            let result = try pool.mapAsync(lazyInput(tasks.count) { tasks[$0] }, callback: { hold("\($0.count) outputs") },
                                           errorCallback: onError)
            (isReady, get) = ({ result.isReady }, { try result.get(timeout: testDeadline) })
        }
        defer { release.set() }
        guard try entered.wait(timeout: testDeadline) else { return (get, nil, nil) }
        return (get, isReady(), got.withLock { $0 })
    }

    @Test(arguments: Call.allCases)
    func theCallbackRunsBeforeTheResultIsReady(call: Call) throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let count = call == .apply ? 1 : 1_000
        let (get, readyWhileCalledBack, got) = try Self.heldInItsCallback(pool, (0..<count).map { Twice(value: $0 + 21) }, call)
        #expect(readyWhileCalledBack == false, "the result was ready while its callback ran")
        #expect(got == (call == .apply ? "output 42" : "1000 outputs"))
        #expect(try get() == (0..<count).map { ($0 + 21) * 2 })
    }

    @Test(arguments: Call.allCases)
    func theErrorCallbackRunsBeforeTheResultIsReady(call: Call) throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let (get, readyWhileCalledBack, got) = try Self.heldInItsCallback(pool, [Failing()], call)
        #expect(readyWhileCalledBack == false, "the result was ready while its error callback ran")
        #expect(got == "error ProcessError", "the task's error, as a worker reports it")
        #expect(throws: ProcessError.self) { try get() }
    }

    /// The same for a thread pool, whose callbacks run on the thread that ran the work.
    @Test func aThreadPoolsCallbacksRunBeforeTheResultIsReady() throws {
        let pool = try ThreadPool(processes: 2)
        defer { pool.terminate() }
        for fails in [false, true] {
            let entered = Event(), release = Event()
            let hold: @Sendable () -> Void = {
                entered.set()
                _ = try? release.wait(timeout: testDeadline)
            }
            let result = try pool.applyAsync({ () throws -> Int in
                if fails { throw PoolTaskError() }
                return 42
            }, callback: { _ in hold() }, errorCallback: { _ in hold() })
            #expect(try entered.wait(timeout: testDeadline))
            #expect(!result.isReady, "the result was ready while its callback ran (failing: \(fails))")
            release.set()
            if fails {
                #expect(throws: PoolTaskError.self) { try result.get(timeout: testDeadline) }
            } else {
                #expect(try result.get(timeout: testDeadline) == 42)
            }
        }
    }
}
