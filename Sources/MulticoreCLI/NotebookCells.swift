#if canImport(Glibc)
import Glibc
#endif
import Multicore
import MulticoreBenchReport

/// The notebook's cells, written with Multicore as the notebook writes them with Python, and
/// printing what the notebook printed.
enum NotebookCells {
    /// Cell 1 (`In [5]`): five threads that each sleep 3 s, started one after the other, each
    /// followed by its alive status and the active thread count; then all are joined.
    static func cell1() throws {
        @Sendable func work(_ nr: Int) {
            sleep(for: .seconds(3))
            Console.line("Finished execution from thread \(nr)")
        }

        let timeStart = MonotonicClock.now
        var threads: [JoinableThread] = []
        for i in 1...5 {
            let thread = JoinableThread { work(i) }
            try thread.start()
            Console.line("Thread \(thread.name) alive status: \(thread.isAlive ? "True" : "False")")
            Console.line("Total no of threads: \(Threading.activeCount())")
            threads.append(thread)
        }
        for thread in threads {
            try thread.join()
        }
        let totalTime = MonotonicClock.now - timeStart
        Console.line("Total time: \(format(totalTime))")
    }

    /// Cell 2 (`In [9]`): ten threads each add 1 to a shared total 1,000,000 times while holding
    /// one lock, and print the total they leave behind.
    static func cell2() throws {
        let (total, elapsed) = try updateTotals(printing: true)
        Console.line("Total \(total)")
        Console.line("Total execution time: \(format(elapsed))")
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
                if printing { Console.line("\(total.value)") }
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

    /// Cell 3 (`In [13]`): five processes each double a number after a mock CPU-bound loop and
    /// print which process did it; then the same five calls in this process, one after the other.
    static func cell3() throws {
        let numbers = [5, 10, 15, 20, 25]
        var procs: [ChildProcess<Doubler>] = []

        var time0 = MonotonicClock.now
        for number in numbers {
            let proc = ChildProcess(task: Doubler(number: number))
            procs.append(proc)
            try proc.start()
        }
        for proc in procs {
            try proc.join()
            _ = try proc.result() // rethrows what went wrong in the child, if anything did
        }
        var time1 = MonotonicClock.now
        let parallel = time1 - time0
        Console.line("Total execution time (parallel): \(format(parallel))")

        time0 = MonotonicClock.now
        for number in numbers {
            _ = Doubler(number: number).run()
        }
        time1 = MonotonicClock.now
        let serial = time1 - time0
        Console.line("Total execution time (serial): \(format(serial))")
    }

    /// Python's `f'{seconds:.10f}'`.
    static func format(_ seconds: Double) -> String {
        cFormat("%.10f", seconds)
    }
}

/// The notebook's `doubler`, as a task a child process can run: the mock time-consuming loop
/// of random additions, then the doubling, printed with the name of the process that did it.
///
/// The notebook's loop draws 1,000,000 numbers, about 1.3 s of CPython; Swift draws them in
/// under 2 ms, less than it takes to start a process, which would hide what the cell shows.
/// The loop draws 100 times as many, a tenth of a second or two of work per call.
struct Doubler: ProcessTask {
    static let draws = 100_000_000
    var number: Int

    func run() -> Int {
        var generator = LinearCongruential(seed: UInt64(number))
        var x = 0
        for _ in 0..<Self.draws {
            x += Int.random(in: 1...10, using: &generator)
        }
        let result = number * 2
        let procName = currentProcessName()
        Console.line("\(number) doubled to \(result) by: \(procName)")
        return x > 0 ? result : -result // `x` is used, so the loop stays
    }
}

/// A small userspace generator (Python's `random` is one too, the Mersenne Twister), so that the
/// loop is CPU work rather than a `getrandom` system call per number: Knuth's MMIX linear
/// congruential generator, high bits out.
struct LinearCongruential: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
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
enum Console {
    private static let lock = Lock()

    static func line(_ text: String) {
        lock.withLock {
            print(text)
            fflush(nil) // every stream: `stdout` itself is not concurrency-safe to name in Swift 6
        }
    }

    /// `text` as is, without a newline.
    static func write(_ text: String) {
        lock.withLock {
            print(text, terminator: "")
            fflush(nil)
        }
    }

    /// `text` to standard error.
    static func writeError(_ text: String) {
        lock.withLock {
            fflush(nil)
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }
}
