import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// The read loop of one end of a link, and an executor whose jobs run on it: one thread reads
/// the peer's messages and runs the queued jobs between reads. A job that runs here costs no
/// thread hop: the message is read, and the task it resumes runs on, on one thread.
///
/// In a host, every call the program makes runs here (the hosted actors' code, default actors
/// running on their task's preferred executor): the price is that a call that computes for
/// long, without an `await`, holds up the host's other calls and its reading (a cancel message
/// included) until it returns; use several hosts for parallel work. In the program, the tasks
/// inside `ActorHost.withDirectCalls` run here, with the same price for that host's callers.
///
/// Once the loop has ended (the link is closed), its jobs go to the global concurrent
/// executor: a task that prefers it is never stranded.
final class LinkLoop: TaskExecutor, @unchecked Sendable { // `jobs`, `sleeping` and `ended` are guarded by `lock`
    private let lock = Lock()
    private var jobs: [UnownedJob] = []
    /// Whether the loop waits in poll, so that a job enqueued from another thread must wake it.
    private var sleeping = false
    /// Whether `run` has returned: jobs go to the global concurrent executor then.
    private var ended = false
    /// A pipe whose message wakes the loop (a job came from another thread).
    private let wakeReader: Connection
    private let wakeWriter: Connection

    init() throws {
        (wakeReader, wakeWriter) = try Connection.pipe(duplex: false)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // The wake-up is written with the lock held, so that `end` never closes the pipe under
        // it (its descriptor could be another file's by then). It never blocks: only the first
        // job after the loop fell asleep writes, and the loop reads a message each time it wakes
        // for one, so a message or two at most wait in the pipe.
        let elsewhere = lock.withLock {
            if ended { return true }
            jobs.append(job)
            if sleeping {
                sleeping = false
                try? wakeWriter.sendBytes([])
            }
            return false
        }
        if elsewhere { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Ends the loop's service: the jobs still queued, and every later one, go to the global
    /// concurrent executor; the wake-up pipe is closed (a host that was shut down holds no
    /// descriptor).
    private func end() {
        let left = lock.withLock {
            ended = true
            wakeReader.close()
            wakeWriter.close()
            defer { jobs = [] }
            return jobs
        }
        for job in left { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Runs the queued jobs, and `receive` for each message `connection` has, until `receive`
    /// returns false (the program is gone or said `shutdown`).
    func run(reading connection: Connection, _ receive: () -> Bool) {
        defer { end() }
        var entries = [pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeReader.fileDescriptor, events: Int16(POLLIN), revents: 0)]
        while true {
            while let batch = takeJobs() {
                for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            }
            // A message the connection holds already is taken without a system call; else one
            // poll(2) waits for the next message or job, and a message is read when it says so
            // (a message and its answer cost a poll, a read and a send: no poll to look first).
            if connection.hasBufferedMessage {
                guard receive() else { return }
                continue
            }
            let idle = lock.briefly {
                sleeping = jobs.isEmpty
                return sleeping
            }
            guard idle else { continue }
            entries[0].revents = 0
            entries[1].revents = 0
            _ = try? Poll.wait(&entries, milliseconds: -1)
            lock.briefly { sleeping = false }
            if entries[1].revents != 0 { _ = try? wakeReader.recvBytes() }
            // Input, end of file or an error: `receive` reads it, or sees the end.
            if entries[0].revents != 0 {
                guard receive() else { return }
            }
        }
    }

    private func takeJobs() -> [UnownedJob]? {
        lock.briefly {
            guard !jobs.isEmpty else { return nil }
            defer { jobs = [] }
            return jobs
        }
    }
}
