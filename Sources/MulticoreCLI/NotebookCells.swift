import Foundation
import Multicore

/// The notebook's cells, written with Multicore as the notebook writes them with Python, and
/// printing what the notebook printed.
enum NotebookCells {
    /// Cell 1 (`In [5]`): five threads that each sleep 3 s, started one after the other, each
    /// followed by its alive status and the active thread count; then all are joined.
    static func cell1() throws {
        @Sendable func work(_ nr: Int) {
            sleep(for: .seconds(3))
            Output.line("Finished execution from thread \(nr)")
        }

        let timeStart = MonotonicClock.now
        var threads: [JoinableThread] = []
        for i in 1...5 {
            let thread = JoinableThread { work(i) }
            try thread.start()
            Output.line("Thread \(thread.name) alive status: \(thread.isAlive ? "True" : "False")")
            Output.line("Total no of threads: \(Threading.activeCount())")
            threads.append(thread)
        }
        for thread in threads {
            try thread.join()
        }
        let totalTime = MonotonicClock.now - timeStart
        Output.line("Total time: \(format(totalTime))")
    }

    /// Cell 2 (`In [9]`): ten threads each add 1 to a shared total 1,000,000 times while holding
    /// one lock, and print the total they leave behind.
    static func cell2() throws {
        let (total, elapsed) = try updateTotals(printing: true)
        Output.line("Total \(total)")
        Output.line("Total execution time: \(format(elapsed))")
    }

    /// The work of cell 2; returns the final total and the seconds it took. The benchmark runs
    /// it without printing.
    static func updateTotals(printing: Bool) throws -> (total: Int, seconds: Double) {
        let lock = Lock()
        let total = SharedTotal()

        @Sendable func updateTotal(_ amount: Int) {
            lock.withLock {
                for _ in 0..<1_000_000 {
                    // Wrapping addition, as C's `+=` in the raw reference: a checked `+=` keeps
                    // the optimizer from folding the loop and measures overflow checks, not the
                    // threads and the lock (it makes the run about 5 ms instead of 0.5 ms).
                    total.value &+= amount
                }
                if printing { Output.line("\(total.value)") }
            }
        }

        let startTime = MonotonicClock.now
        var threads: [JoinableThread] = []
        for _ in 0..<10 {
            let thread = JoinableThread { updateTotal(1) }
            try thread.start()
            threads.append(thread)
        }
        for thread in threads {
            try thread.join()
        }
        let endTime = MonotonicClock.now
        return (lock.withLock { total.value }, endTime - startTime)
    }

    /// Python's `f'{seconds:.10f}'`.
    static func format(_ seconds: Double) -> String {
        String(format: "%.10f", seconds)
    }
}

/// The notebook's global `total`: an integer in memory of its own, like a C global, which the
/// threads read and write while holding cell 2's lock.
final class SharedTotal: @unchecked Sendable { // `value` is only touched while a lock is held
    private let storage: UnsafeMutablePointer<Int>

    init() {
        storage = .allocate(capacity: 1)
        storage.initialize(to: 0)
    }

    deinit { storage.deallocate() }

    var value: Int {
        get { storage.pointee }
        set { storage.pointee = newValue }
    }
}

/// Seconds on the monotonic clock.
enum MonotonicClock {
    static var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Whole lines to standard output, one writer at a time, flushed at once so that lines from
/// threads appear as they happen even when stdout is a pipe.
enum Output {
    private static let lock = Lock()

    static func line(_ text: String) {
        lock.withLock {
            print(text)
            fflush(nil) // every stream: `stdout` itself is not concurrency-safe to name in Swift 6
        }
    }
}
