import Testing
@testable import MulticoreThreading

/// The async tests await with no deadline of their own: the time limit bounds them.
@Suite(.timeLimit(.minutes(5))) struct FutureTests {
    struct Failure: Error, Equatable { let code: Int }

    @Test func lifeCycleFromPendingToFinished() throws {
        let future = Future<Int>()
        #expect(!future.isDone && !future.isRunning && !future.isCancelled)
        #expect(try future.setRunningOrNotifyCancel())
        #expect(future.isRunning)
        #expect(!future.cancel(), "a running future cannot be cancelled")
        try future.setResult(5)
        #expect(future.isDone && !future.isRunning)
        #expect(try future.result() == 5)
        #expect(try future.error() == nil)
        #expect(throws: FutureError.invalidState("the future is already done")) { try future.setResult(6) }
        #expect(throws: FutureError.invalidState("Future in unexpected state")) { try future.setRunningOrNotifyCancel() }
    }

    @Test func errorIsRethrownByResult() throws {
        let future = Future<Int>()
        try future.setError(Failure(code: 3))
        #expect(throws: Failure(code: 3)) { try future.result() }
        #expect(try future.error() as? Failure == Failure(code: 3))
    }

    @Test func cancelOnlyWhilePending() throws {
        let future = Future<Int>()
        #expect(future.cancel())
        #expect(future.cancel(), "cancelling again still reports cancelled")
        #expect(future.isCancelled && future.isDone)
        #expect(throws: FutureError.cancelled) { try future.result() }
        #expect(throws: FutureError.cancelled) { try future.error() }
        #expect(try !future.setRunningOrNotifyCancel())
        let finished = Future<Int>()
        try finished.setResult(1)
        #expect(!finished.cancel())
    }

    @Test func resultTimesOut() {
        let future = Future<Int>()
        #expect(throws: FutureError.timeout) { try future.result(timeout: .milliseconds(5)) }
        #expect(throws: FutureError.timeout) { try future.error(timeout: .zero) }
    }

    @Test func resultWakesBlockedWaiters() throws {
        let future = Future<String>()
        let got = Recorder<String>()
        let waiters = try (0..<4).map { _ in try spawn { got.append(try future.result(timeout: testDeadline)) } }
        #expect(try !waiters[0].join(timeout: shortWait))
        try future.setResult("ready")
        for waiter in waiters { #expect(try waiter.join(timeout: testDeadline)) }
        #expect(got.items == Array(repeating: "ready", count: 4))
    }

    @Test func doneCallbacksRunOnceEachInOrder() throws {
        let future = Future<Int>()
        let calls = Recorder<String>()
        future.addDoneCallback { _ in calls.append("first") }
        future.addDoneCallback { f in calls.append("second:\((try? f.result()) ?? -1)") }
        #expect(calls.items.isEmpty)
        try future.setResult(9)
        #expect(calls.items == ["first", "second:9"])
        future.addDoneCallback { _ in calls.append("late") }
        #expect(calls.items == ["first", "second:9", "late"], "a callback added when done runs at once")
        let cancelled = Future<Int>()
        cancelled.addDoneCallback { f in calls.append("cancelled:\(f.isCancelled)") }
        cancelled.cancel()
        cancelled.cancel()
        #expect(calls.items.last == "cancelled:true")
        #expect(calls.items.count == 4)
    }

    @Test func awaitingTheValue() async throws {
        let future = Future<Int>()
        let thread = try spawn { try future.setResult(77) }
        #expect(try await future.value == 77)
        _ = thread
        let failing = Future<Int>()
        try failing.setError(Failure(code: 1))
        await #expect(throws: Failure(code: 1)) { try await failing.value }
    }

    @Test func cancellingTheAwaitingTaskCancelsAPendingFuture() async throws {
        let future = Future<Int>()
        let task = Task { try await future.value }
        task.cancel()
        await #expect(throws: FutureError.cancelled) { try await task.value }
        #expect(future.isCancelled)
    }

    @Test func waitAllCompleted() throws {
        let futures = (0..<5).map { _ in Future<Int>() }
        let (done, notDone) = try Futures.wait(futures, timeout: .milliseconds(5))
        #expect(done.isEmpty && notDone.count == 5)
        let setter = try spawn { for (n, f) in futures.enumerated() { try f.setResult(n) } }
        let result = try Futures.wait(futures, timeout: testDeadline)
        #expect(result.done.count == 5 && result.notDone.isEmpty)
        #expect(try setter.join(timeout: testDeadline))
    }

    @Test func waitFirstCompleted() throws {
        let futures = (0..<3).map { _ in Future<Int>() }
        let setter = try spawn { try futures[1].setResult(1) }
        let (done, notDone) = try Futures.wait(futures + [futures[1]], timeout: testDeadline, returnWhen: .firstCompleted)
        #expect(done.count == 1 && done[0] === futures[1])
        #expect(notDone.count == 2, "duplicates are removed")
        #expect(try setter.join(timeout: testDeadline))
    }

    /// A difference from CPython, on purpose (README): a future cancelled while queued is done
    /// at once for `wait`, as its `isDone` says, without waiting for its executor to drop it.
    @Test func aCancelledFutureIsDoneForWaitAtOnce() throws {
        let executor = try ThreadPoolExecutor(maxWorkers: 1)
        defer { executor.shutdown(wait: true) }
        let gate = Event()
        let blocker = try executor.submit { try gate.wait(timeout: testDeadline) ? 0 : -1 }
        let queued = try executor.submit { 1 }
        #expect(queued.cancel())
        let (done, notDone) = try Futures.wait([blocker, queued], timeout: testDeadline, returnWhen: .firstCompleted)
        #expect(done.count == 1 && done[0] === queued && queued.isDone)
        #expect(notDone.count == 1 && notDone[0] === blocker)
        gate.set()
        #expect(try blocker.result(timeout: testDeadline) == 0)
    }

    @Test func waitFirstException() throws {
        let futures = (0..<3).map { _ in Future<Int>() }
        try futures[0].setResult(0)
        let setter = try spawn { try futures[2].setError(Failure(code: 2)) }
        let (done, notDone) = try Futures.wait(futures, timeout: testDeadline, returnWhen: .firstException)
        #expect(done.count == 2 && notDone.count == 1 && notDone[0] === futures[1])
        #expect(try setter.join(timeout: testDeadline))
        // With no error at all, it returns when all are done.
        let fine = (0..<2).map { _ in Future<Int>() }
        for f in fine { try f.setResult(1) }
        #expect(try Futures.wait(fine, timeout: testDeadline, returnWhen: .firstException).done.count == 2)
    }

    @Test func asCompletedYieldsInCompletionOrder() throws {
        let futures = (0..<4).map { _ in Future<Int>() }
        try futures[2].setResult(2)
        let iterator = try Futures.asCompleted(futures, timeout: testDeadline)
        let first = try #require(try iterator.next())
        #expect(first === futures[2], "already-done futures come first")
        for index in [3, 0, 1] {
            let setter = try spawn { try futures[index].setResult(index) }
            let next = try #require(try iterator.next())
            #expect(next === futures[index])
            #expect(try setter.join(timeout: testDeadline))
        }
        #expect(try iterator.next() == nil)
    }

    @Test func asCompletedIsASequenceAndFuturesKeyDictionaries() throws {
        let futures = (0..<3).map { _ in Future<Int>() }
        // Python's {executor.submit(f, x): x for x in xs}: futures are hashable by identity.
        var inputs: [Future<Int>: Int] = [:]
        for (index, future) in futures.enumerated() { inputs[future] = index }
        #expect(inputs.count == 3 && inputs[futures[1]] == 1 && Set(futures).count == 3)
        #expect(futures[0] != futures[1] && futures[0] == futures[0])
        for (index, future) in futures.enumerated().reversed() { try future.setResult(index * 10) }
        var order: [Int] = []
        for result in try Futures.asCompleted(futures, timeout: testDeadline) {
            let future = try result.get()
            order.append(try #require(inputs[future]))
        }
        #expect(order.sorted() == [0, 1, 2])
        // A timeout is the last element.
        let late = Future<Int>()
        let elements = Array(try Futures.asCompleted([futures[0], late], timeout: .milliseconds(10)))
        #expect(elements.count == 2)
        #expect(throws: FutureError.unfinished(1, of: 2)) { try elements[1].get() }
    }

    @Test func asCompletedTimesOut() throws {
        let futures = (0..<3).map { _ in Future<Int>() }
        try futures[0].setResult(0)
        let iterator = try Futures.asCompleted(futures, timeout: .milliseconds(20))
        #expect(try iterator.next() === futures[0])
        #expect(throws: FutureError.unfinished(2, of: 3)) { try iterator.next() }
    }
}
