import Testing
@testable import MulticoreThreading

@Suite struct ConditionTests {
    @Test func waitAndNotifyWithoutLockThrow() {
        for condition in [Condition(), Condition(lock: Lock()), Condition(lock: RLock())] {
            #expect(throws: ThreadingError.waitWithoutLock) { _ = try condition.wait(timeout: .zero) }
            #expect(throws: ThreadingError.waitWithoutLock) { _ = try condition.waitFor(timeout: .zero) { true } }
            #expect(throws: ThreadingError.notifyWithoutLock) { try condition.notify() }
            #expect(throws: ThreadingError.notifyWithoutLock) { try condition.notifyAll() }
        }
    }

    @Test func rlockHeldByAnotherThreadIsNotOwned() throws {
        let condition = Condition()
        condition.acquire()
        let other = try spawn { () throws in
            #expect(throws: ThreadingError.notifyWithoutLock) { try condition.notify() }
        }
        #expect(try other.join(timeout: testDeadline))
        try condition.release()
    }

    @Test func waitTimesOutAndReturnsFalseHoldingTheLock() throws {
        let lock = RLock()
        let condition = Condition(lock: lock)
        try condition.withLock { () throws in
            #expect(try !condition.wait(timeout: .milliseconds(10)))
            #expect(lock.isOwnedByCurrentThread)
        }
        #expect(throws: ThreadingError.negativeTimeout) {
            try condition.withLock { _ = try condition.wait(timeout: .seconds(-1)) }
        }
    }

    @Test func waitFullyReleasesARecursiveLockAndRestoresIt() throws {
        let lock = RLock()
        let condition = Condition(lock: lock)
        let ready = Event()
        let notified = Event()
        let notifier = try spawn { () throws in
            try ready.wait(timeout: testDeadline)
            // Acquirable only if the waiter released all three levels.
            #expect(try lock.acquire(timeout: testDeadline))
            try condition.notify()
            notified.set()
            try lock.release()
        }
        lock.acquire(); lock.acquire(); lock.acquire()
        ready.set()
        #expect(try condition.wait(timeout: testDeadline))
        #expect(lock.recursionCount == 3)
        try lock.release(); try lock.release(); try lock.release()
        #expect(notified.isSet)
        #expect(try notifier.join(timeout: testDeadline))
    }

    /// `notify(n)` wakes exactly n waiters, in arrival order (CPython's lock_tests checks both).
    @Test func notifyWakesExactlyNInArrivalOrder() throws {
        let condition = Condition(lock: Lock())
        let woken = Recorder<Int>()
        var waiters: [JoinableThread] = []
        for index in 0..<5 {
            let waiter = try spawn { () throws in
                try condition.withLock { () throws in
                    #expect(try condition.wait(timeout: testDeadline))
                    woken.append(index)
                }
            }
            // Arrival order is what notify follows: let each waiter queue before the next starts.
            #expect(eventually { condition.withLock { condition.waiterCount } == index + 1 })
            waiters.append(waiter)
        }
        try condition.withLock { try condition.notify(2) }
        #expect(eventually { woken.items.count == 2 })
        #expect(condition.withLock { condition.waiterCount } == 3)
        try condition.withLock { try condition.notify(1) }
        #expect(eventually { woken.items.count == 3 })
        try condition.withLock { try condition.notifyAll() }
        for waiter in waiters { #expect(try waiter.join(timeout: testDeadline)) }
        // The two first notified are the two first to wait; they may reacquire the lock in either order.
        let items = woken.items
        #expect(Set(items[0..<2]) == [0, 1])
        #expect(items[2] == 2)
        #expect(Set(items[3...]) == [3, 4])
    }

    @Test func waitForReturnsPredicateValue() throws {
        let condition = Condition()
        final class Box: @unchecked Sendable { var ready = false } // guarded by `condition`
        let box = Box()
        let setter = try spawn { () throws in
            condition.withLock {
                box.ready = true
                try? condition.notifyAll()
            }
        }
        let result = try condition.withLock { try condition.waitFor(timeout: testDeadline) { box.ready } }
        #expect(result)
        #expect(try setter.join(timeout: testDeadline))
        let never = try condition.withLock { try condition.waitFor(timeout: .milliseconds(10)) { false } }
        #expect(!never)
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func producersAndConsumersHandOffEveryItem(threads: Int) throws {
        let condition = Condition(lock: Lock())
        final class Stock: @unchecked Sendable { var items = 0; var consumed = 0 } // guarded by `condition`
        let stock = Stock()
        let perThread = 500
        try race(threads * 2) { index in
            for _ in 0..<perThread {
                try condition.withLock { () throws in
                    if index % 2 == 0 {
                        stock.items += 1
                        try condition.notify()
                    } else {
                        #expect(try condition.waitFor(timeout: testDeadline) { stock.items > 0 })
                        stock.items -= 1
                        stock.consumed += 1
                    }
                }
            }
        }
        #expect(stock.consumed == threads * perThread)
        #expect(stock.items == 0)
    }
}
