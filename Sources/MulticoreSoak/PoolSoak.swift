import MulticorePool
import MulticoreProcessing
import MulticoreThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The crash soak: many small tasks through a `ProcessPoolExecutor` while its workers are
/// SIGKILLed at random, checking that every task ends with exactly one outcome (its result, or
/// an error naming the dead worker) and that nothing hangs. What `multicore soak` runs, and a
/// short version of it runs in the tests.
package enum PoolSoak {
    /// The soak's task: doubles a number.
    struct Task: ProcessTask, PlainData {
        var value: Int
        func run() -> Int { value &* 2 }
    }

    /// What a soak saw.
    package struct Report: Sendable, CustomStringConvertible {
        package var tasks = 0
        /// Tasks whose right result arrived.
        package var results = 0
        /// Tasks that failed because their worker died (after their retries).
        package var workerDied = 0
        /// Worker-died failures that came before the task's retries were used up (fewer than
        /// `retries + 1` workers died running it): always a defect.
        package var diedBeforeRetriesUsed = 0
        /// The retries each task had.
        package var retries = 0
        /// Tasks that failed otherwise, or returned a wrong value: always a defect.
        package var otherFailures = 0
        /// Tasks with no outcome by the deadline: always a defect.
        package var withoutOutcome = 0
        /// Workers the soak killed.
        package var kills = 0
        package var seconds = 0.0

        /// What the pool promises, whatever the killer hits: every task had exactly one outcome,
        /// none of them wrong; a task failed because its worker died only once `retries + 1`
        /// workers had died running it; and no more deaths were charged to tasks than workers
        /// were killed. A random killer may hit one task on worker after worker, so a sound
        /// soak can have fewer results than tasks.
        package var isSound: Bool {
            otherFailures == 0 && withoutOutcome == 0 && diedBeforeRetriesUsed == 0 && results + workerDied == tasks
                && workerDied * (retries + 1) <= kills
        }

        package var description: String {
            "soak: \(tasks) tasks, \(results) results, \(workerDied) worker-died errors (\(diedBeforeRetriesUsed) before \(retries) "
                + "retries were used), \(otherFailures) other failures, \(withoutOutcome) without an outcome, \(kills) workers killed, \(String(format: seconds)) s"
        }
    }

    /// Runs `tasks` tasks through a pool of `workers` processes, killing a random worker about
    /// once every `killEvery` finished tasks; waits at most `deadline` for the outcomes.
    /// `started` is given the pool first (the CLI stops it on Ctrl-C).
    @available(*, noasync, message: "blocks the thread")
    package static func run(tasks: Int, workers: Int = 2, retries: Int = 3, killEvery: Int = 1_000,
                           deadline: Duration = .seconds(600),
                           started: (ProcessPoolExecutor) -> Void = { _ in }) throws -> Report {
        var report = Report()
        report.tasks = tasks
        report.retries = retries
        let start = ContinuousClock.now
        let pool = try ProcessPoolExecutor(maxWorkers: workers, maxRetries: retries)
        defer { pool.shutdown(cancelFutures: true) }
        started(pool)
        let finished = Atomic<Int>(0)
        let stop = Event()
        let kills = Atomic<Int>(0)
        let killer = JoinableThread(name: "mc-soak-killer", daemon: true) {
            var next = killEvery
            while !stop.isSet {
                let done = finished.load(ordering: .relaxed)
                if done >= next, let victim = pool.workerPIDs.randomElement() {
                    kill(victim, SIGKILL)
                    kills.wrappingAdd(1, ordering: .relaxed)
                    // The next kill `killEvery` tasks from now: a killer that fell behind (a busy
                    // machine) does not catch up in a burst, which could hit one retried task on
                    // worker after worker, more often than any retry budget allows.
                    next = done + killEvery
                }
                _ = try? stop.wait(timeout: .milliseconds(1))
            }
        }
        try killer.start()
        var futures: [Future<Int>] = []
        futures.reserveCapacity(tasks)
        for value in 0..<tasks {
            let future = try pool.submit(Task(value: value))
            future.addDoneCallback { _ in finished.wrappingAdd(1, ordering: .relaxed) }
            futures.append(future)
        }
        let limit = ContinuousClock.now + deadline
        for (value, future) in futures.enumerated() {
            do {
                let left = max(.zero, limit - ContinuousClock.now)
                if try future.result(timeout: left) == value &* 2 { report.results += 1 } else { report.otherFailures += 1 }
            } catch FutureError.timeout {
                report.withoutOutcome += 1
            } catch PoolError.workerDied(_, _, let attempts) {
                report.workerDied += 1
                if attempts != retries + 1 { report.diedBeforeRetriesUsed += 1 }
            } catch {
                report.otherFailures += 1
            }
        }
        stop.set()
        _ = try? killer.join(timeout: .seconds(5))
        report.kills = kills.load(ordering: .relaxed)
        report.seconds = Double((ContinuousClock.now - start).components.seconds)
            + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        return report
    }
}

private extension String {
    /// `value` with two decimals, without Foundation.
    init(format value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
