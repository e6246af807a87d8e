import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// A host's read loop, and the executor its calls run on: one thread reads the program's
/// messages and runs the tasks of the calls (and so the hosted actors' code, default actors
/// running on their task's preferred executor) between reads. A call then costs the host no
/// thread hop: the message is read, the call run and its answer written on one thread. The
/// price: a call that computes for long, without an `await`, holds up the host's other calls
/// and its reading (a cancel message included) until it returns; use several hosts for
/// parallel work.
final class HostLoop: TaskExecutor, @unchecked Sendable { // `jobs` and `sleeping` are guarded by `lock`
    private let lock = Lock()
    private var jobs: [UnownedJob] = []
    /// Whether the loop waits in poll, so that a job enqueued from another thread must wake it.
    private var sleeping = false
    /// A pipe whose message wakes the loop (a job came from another thread).
    private let wakeReader: Connection
    private let wakeWriter: Connection

    init() throws {
        (wakeReader, wakeWriter) = try Connection.pipe(duplex: false)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wake = lock.briefly {
            jobs.append(job)
            defer { sleeping = false }
            return sleeping
        }
        if wake { try? wakeWriter.sendBytes([]) }
    }

    /// Runs the queued jobs, and `receive` for each message `connection` has, until `receive`
    /// returns false (the program is gone or said `shutdown`).
    func run(reading connection: Connection, _ receive: () -> Bool) {
        while true {
            while let batch = takeJobs() {
                for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            }
            while (try? connection.poll(timeout: .zero)) == true {
                guard receive() else { return }
                while let batch = takeJobs() {
                    for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
                }
            }
            let idle = lock.briefly {
                sleeping = jobs.isEmpty
                return sleeping
            }
            guard idle else { continue }
            var entries = [pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wakeReader.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            _ = try? Poll.wait(&entries, milliseconds: -1)
            lock.briefly { sleeping = false }
            if entries[1].revents != 0 { _ = try? wakeReader.recvBytes() }
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
