#if canImport(Glibc)
import Glibc
#endif
import Multicore
import MulticoreBenchReport

/// `multicore pool` and `multicore crash`: what a process pool does, shown.
enum PoolDemos {
    /// The notebook's doubler over a `Pool`, with a progress bar: `count` numbers, each doubled
    /// after the mock CPU-bound loop, by whichever worker is free.
    static func doublers(count: Int, workers: Int) throws {
        // The CLI's pools pass their workers' output on line by line, prefixed with their names.
        let pool = try Pool(processes: workers, output: .prefixed)
        defer { pool.terminate() }
        Interruption.onInterrupt { pool.shutdown(gracePeriod: .zero) }
        let numbers = (1...count).map { $0 * 5 }
        let bar = ProgressBar(total: count)
        let start = MonotonicClock.now
        let results = try pool.map(numbers.map { QuietDoubler(number: $0) }, chunksize: 1) { done, _ in
            if !Interruption.isUnderway { bar.show(done) } // the chunks a Ctrl-C stopped do not count
        }
        let elapsed = MonotonicClock.now - start
        Interruption.proceed()
        bar.finish()
        for (number, result) in zip(numbers, results) {
            Console.line("\(number) doubled to \(result.doubled) by: \(result.processName)")
        }
        Console.line("Total execution time (pool of \(pool.processes)): \(NotebookCells.format(elapsed))")
        let serial = Double(count) * secondsPerDoubling()
        Console.line("Serial, estimated from one doubling here: \(NotebookCells.format(serial)) (\(cFormat("%.2f", serial / elapsed))x)")
        Console.line("\(pool.stats)")
    }

    /// One doubling in this process, timed: the serial estimate's unit.
    private static func secondsPerDoubling() -> Double {
        let start = MonotonicClock.now
        _ = QuietDoubler(number: 1).run()
        return MonotonicClock.now - start
    }

    /// Ten tasks on two workers; the fourth traps (a Swift runtime error), the seventh reads
    /// through a bad pointer (SIGSEGV). Each fails alone, named with its worker and signal; the
    /// pool replaces the workers and the other eight complete.
    static func crash() throws {
        let pool = try Pool(processes: 2, output: .prefixed)
        defer { pool.terminate() }
        Interruption.onInterrupt { pool.shutdown(gracePeriod: .zero) }
        let tasks = (0..<10).map { index in
            CrashingTask(index: index, crash: index == 3 ? .trap : index == 6 ? .segfault : nil)
        }
        Console.line("Running 10 tasks on 2 worker processes; task 3 traps, task 6 segfaults.")
        let results = try pool.imap(tasks)
        var completed = 0
        for index in tasks.indices {
            do {
                guard let output = try results.next(timeout: .seconds(30)) else { break }
                completed += 1
                Console.line("task \(index): \(output)")
            } catch {
                Console.line("task \(index): FAILED: \(error)")
            }
        }
        Console.line("\(completed) of \(tasks.count) tasks completed; the pool is still usable: " +
                     "\(try pool.apply(CrashingTask(index: 10, crash: nil), timeout: .seconds(30)))")
        Console.line("\(pool.stats)")
    }
}

/// The notebook's doubler without printing in the worker: the parent prints, after the bar.
struct QuietDoubler: ProcessTask, PlainData {
    var number: Int

    struct Output: Codable, Sendable {
        var doubled: Int
        var processName: String
    }

    func run() -> Output {
        var generator = LinearCongruential(seed: UInt64(number))
        var x = 0
        for _ in 0..<Doubler.draws { x += Int.random(in: 1...10, using: &generator) }
        return Output(doubled: x > 0 ? number * 2 : -number, processName: currentProcessName())
    }
}

/// A task that returns a line about itself, or crashes the way it is told to.
struct CrashingTask: ProcessTask {
    enum Crash: String, Codable { case trap, segfault }
    var index: Int
    var crash: Crash?

    func run() -> String {
        switch crash {
        case .trap:
            let empty: [Int] = []
            return "\(empty[index])" // index out of range: a Swift trap
        case .segfault:
            let bad = UnsafeMutablePointer<Int>(bitPattern: 16)!
            bad.pointee = index // SIGSEGV
            return "unreachable"
        case nil:
            return "\(index) squared is \(index * index), by \(currentProcessName())"
        }
    }
}

/// `[#####.....] 5/10` on standard error, redrawn in place on a terminal; elsewhere (a pipe, a
/// file), a line at each tenth, so that logs stay readable.
final class ProgressBar: @unchecked Sendable { // `shownTenths` is only touched under `lock`
    private let total: Int
    private let width = 30
    private let terminal = isatty(2) != 0
    private let lock = Lock()
    private var shownTenths = -1

    init(total: Int) {
        self.total = max(1, total)
        show(0)
    }

    func show(_ done: Int) {
        let filled = width * done / total
        let text = "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)"
        lock.withLock {
            if terminal {
                Console.writeError("\r" + text)
            } else if done * 10 / total > shownTenths {
                shownTenths = done * 10 / total
                Console.writeError(text + "\n")
            }
        }
    }

    func finish() {
        if terminal { Console.writeError("\n") }
    }
}
