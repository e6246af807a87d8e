import Testing
@testable import MulticoreThreading

/// Python raises `OverflowError("timeout value is too large")` for a timeout above
/// `threading.TIMEOUT_MAX`; every call here that takes a timeout throws its typed
/// `timeoutTooLarge` instead of reading it as "no limit". `timeoutMax` itself is accepted.
@Suite struct TimeoutLimitTests {
    let tooLarge = Threading.timeoutMax + .seconds(1)

    @Test func locksConditionsSemaphoresEventsAndBarriersRefuseIt() throws {
        let lock = Lock()
        #expect(throws: ThreadingError.timeoutTooLarge) { try lock.acquire(timeout: tooLarge) }
        #expect(try lock.acquire(timeout: Threading.timeoutMax))
        try lock.release()
        #expect(throws: ThreadingError.timeoutTooLarge) { try RLock().acquire(timeout: tooLarge) }
        let condition = Condition()
        try condition.withLock { () throws in
            #expect(throws: ThreadingError.timeoutTooLarge) { try condition.wait(timeout: tooLarge) }
            #expect(throws: ThreadingError.timeoutTooLarge) { try condition.waitFor(timeout: tooLarge) { false } }
        }
        #expect(throws: ThreadingError.timeoutTooLarge) { try CountingSemaphore(value: 0).acquire(timeout: tooLarge) }
        #expect(throws: ThreadingError.timeoutTooLarge) { try Event().wait(timeout: tooLarge) }
        let event = Event()
        event.set()
        #expect(try event.wait(timeout: Threading.timeoutMax))
        #expect(throws: ThreadingError.timeoutTooLarge) { try Barrier(parties: 2, timeout: tooLarge) }
        #expect(throws: ThreadingError.timeoutTooLarge) { try Barrier(parties: 1).wait(timeout: tooLarge) }
    }

    @Test func queuesRefuseIt() throws {
        let queue = Queue<Int>(maxsize: 1)
        #expect(throws: QueueError.timeoutTooLarge) { try queue.get(timeout: tooLarge) }
        try queue.put(1)
        #expect(throws: QueueError.timeoutTooLarge) { try queue.put(2, timeout: tooLarge) }
        #expect(throws: QueueError.timeoutTooLarge) { try queue.join(timeout: tooLarge) }
        #expect(throws: QueueError.timeoutTooLarge) { try SimpleQueue<Int>().get(timeout: tooLarge) }
        #expect(try queue.get(timeout: Threading.timeoutMax) == 1)
    }

    @Test func joinsAndFuturesRefuseIt() throws {
        let thread = JoinableThread(daemon: true) {}
        try thread.start()
        #expect(throws: ThreadingError.timeoutTooLarge) { try thread.join(timeout: tooLarge) }
        #expect(try thread.join(timeout: Threading.timeoutMax))
        let future = Future<Int>()
        #expect(throws: FutureError.timeoutTooLarge) { try future.result(timeout: tooLarge) }
        #expect(throws: FutureError.timeoutTooLarge) { try future.error(timeout: tooLarge) }
        #expect(throws: FutureError.timeoutTooLarge) { try Futures.wait([future], timeout: tooLarge) }
        #expect(throws: FutureError.timeoutTooLarge) { try Futures.asCompleted([future], timeout: tooLarge) }
        try future.setResult(7)
        #expect(try future.result(timeout: Threading.timeoutMax) == 7)
        #expect(ThreadingError.timeoutTooLarge.description.hasPrefix("timeout value is too large"))
    }
}
