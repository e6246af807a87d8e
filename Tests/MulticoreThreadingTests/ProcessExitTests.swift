import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreThreading

/// What happens at process exit, checked in child processes (Swift Testing's exit tests).
/// Each body ends with `exit(0)`, the normal process exit that runs `atexit` handlers (the
/// harness itself leaves an exit test's process with `_Exit`, which runs none).
@Suite(.timeLimit(.minutes(5))) struct ProcessExitTests {
    @Test func exitWaitsForNonDaemonThreads() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let thread = JoinableThread(daemon: false) {
                sleep(for: .milliseconds(100))
                writeToStandardError("non-daemon finished\n")
            }
            try thread.start()
            exit(0) // while the thread still sleeps
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("non-daemon finished"))
    }

    @Test func exitDoesNotWaitForDaemonThreads() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let thread = JoinableThread(daemon: true) {
                try Event().wait() // never set
                writeToStandardError("daemon finished\n")
            }
            try thread.start()
            exit(0)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(!stderr.contains("daemon finished"))
    }

    @Test func exitLetsThreadPoolsFinishQueuedWork() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let pool = try ThreadPoolExecutor(maxWorkers: 1)
            for n in 1...3 {
                _ = try pool.submit {
                    sleep(for: .milliseconds(20))
                    writeToStandardError("task \(n) done\n")
                }
            }
            // No shutdown: process exit must still run the queued tasks, as Python's does.
            exit(0)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("task 1 done") && stderr.contains("task 2 done") && stderr.contains("task 3 done"))
    }

    @Test func defaultExcepthookPrintsTheThreadNameAndError() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            struct DiskFull: Error, CustomStringConvertible { var description: String { "no space left" } }
            let thread = JoinableThread(name: "writer-7", daemon: false) { throw DiskFull() }
            try thread.start()
            exit(0) // the thread is not a daemon: exit waits for it, and its error is printed
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("Exception in thread writer-7:\nDiskFull: no space left\n"))
    }
}
