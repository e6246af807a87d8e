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
/// In the program, a caller may read its own answer for a while instead (`ReadTurn`).
///
/// Once the loop has ended (the link is closed), its jobs go to the global concurrent
/// executor: a task that prefers it is never stranded.
final class LinkLoop: TaskExecutor, @unchecked Sendable { // `jobs`, `sleeping` and `ended` are guarded by `lock`; `spinning` is the loop thread's
    private let lock = Lock()
    private var jobs: [UnownedJob] = []
    /// Whether the loop waits for input, so that a job enqueued from another thread must wake it.
    private var sleeping = false
    /// Whether `run` has returned: jobs go to the global concurrent executor then.
    private var ended = false
    /// What the loop reads.
    private let connection: Connection
    private let input: Int32
    /// What the loop waits on: `connection` (tag 0) and the wake-up pipe (tag 1). With turns,
    /// the input is one-shot: disarmed during a turn (the loop is not woken for what the
    /// caller reads), and re-armed after each read.
    private let events: EventPoll
    /// A pipe whose message wakes the loop (a job came from another thread).
    private let wakeReader: Connection
    private let wakeWriter: Connection
    /// In the program: callers that read their own answers for a while (nil in a host).
    let turns: ReadTurn?
    /// The busy wait before the loop sleeps (`SpinWait`); used by the loop's thread alone.
    private var spinning: SpinWait

    /// A loop that will read `connection`.
    /// - Parameters:
    ///   - turnLimit: callers may read their own answers for up to this long (`ReadTurn`),
    ///     polling for up to `spin` before they sleep; nil or zero: the loop alone reads.
    ///   - spin: how long the loop polls for the next message before it sleeps (`SpinWait`):
    ///     in a host; the program's loop, the slow path once callers read, does not.
    init(reading connection: Connection, turnLimit: Duration? = nil, spin: Duration = .zero) throws {
        self.connection = connection
        let fd = connection.fileDescriptor
        input = fd
        spinning = SpinWait(limit: turnLimit == nil ? spin : .zero)
        // The turns' set watches the input first: an input goes to a caller in its turn
        // rather than to the loop.
        turns = try turnLimit.flatMap { $0 > .zero ? try ReadTurn(reading: fd, limit: $0, spin: spin) : nil }
        do {
            (wakeReader, wakeWriter) = try Connection.pipe(duplex: false)
        } catch {
            turns?.close()
            throw error
        }
        do {
            events = try EventPoll()
        } catch {
            turns?.close()
            wakeReader.close()
            wakeWriter.close()
            throw error
        }
        do {
            try events.add(fd, tag: 0, mode: turns == nil ? .level : .oneShot)
            try events.add(wakeReader.fileDescriptor, tag: 1)
        } catch {
            turns?.close()
            events.close()
            wakeReader.close()
            wakeWriter.close()
            throw error
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let elsewhere = lock.withLock {
            if ended { return true }
            jobs.append(job)
            wakeIfSleeping()
            return false
        }
        if elsewhere { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Wakes the loop if it waits for input; `lock` held. The wake-up is written with the lock
    /// held, so that `end` never closes the pipe under it (its descriptor could be another
    /// file's by then). It never blocks: only the first wake-up after the loop fell asleep
    /// writes, and the loop reads a message each time it wakes for one, so a message or two at
    /// most wait in the pipe.
    private func wakeIfSleeping() {
        guard sleeping, !ended else { return }
        sleeping = false
        try? wakeWriter.sendBytes([])
    }

    /// Takes a caller's turn (`ReadTurn.begin`): its deadline, or nil when the caller may not
    /// take one. The loop's input is disarmed for the turn.
    func beginTurn() -> Deadline? {
        guard let turns, let deadline = turns.begin() else { return nil }
        try? events.arm(input, tag: 0, false)
        return deadline
    }

    /// Ends a caller's turn (`ReadTurn.end`): the loop's input is armed again (the turn is held
    /// meanwhile, so the set is open), and the loop woken if the turn read the link's end.
    func endTurn(_ outcome: ReadTurn.Outcome) {
        guard let turns else { return }
        try? events.arm(input, tag: 0, true)
        guard turns.end(outcome) else { return }
        lock.withLock { wakeIfSleeping() }
    }

    /// Closes a loop that never ran (its thread could not start).
    func abandon() { end() }

    /// Ends the loop's service: the jobs still queued, and every later one, go to the global
    /// concurrent executor; the wake-up pipe and the sets are closed (a host that was shut down
    /// holds no descriptor).
    private func end() {
        // No turn holds the set (to arm it) once turns are closed.
        turns?.close()
        let left = lock.withLock {
            ended = true
            wakeReader.close()
            wakeWriter.close()
            events.close()
            defer { jobs = [] }
            return jobs
        }
        for job in left { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Runs the queued jobs, and `receive` for each message the connection has, until `receive`
    /// returns false (the program is gone or said `shutdown`) or a caller's turn read the end.
    func run(_ receive: () -> Bool) {
        defer { end() }
        while true {
            while let batch = takeJobs() {
                for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            }
            if turns?.linkEnded == true { return }
            // A message the connection holds already is taken without a system call; else one
            // epoll_wait waits for the next message or job, and a message is read when it says
            // so (a message and its answer cost a wait, a read and a send: no poll to look first).
            if connection.hasBufferedMessage {
                guard read(receive) else { return }
                continue
            }
            // A message or a job that comes soon is met awake (`SpinWait`).
            let fd = input
            var hasInput = false
            if spinning.spin({
                hasInput = (try? Poll.isReady(fd, milliseconds: 0)) == true
                return hasInput || lock.briefly { !jobs.isEmpty }
            }) {
                if hasInput {
                    guard read(receive) else { return }
                }
                continue
            }
            let idle = lock.briefly {
                sleeping = jobs.isEmpty
                return sleeping
            }
            guard idle else { continue }
            let ready = (try? events.wait(nanoseconds: nil)) ?? 0
            lock.briefly { sleeping = false }
            if ready & 0b10 != 0 { _ = try? wakeReader.recvBytes() }
            // Input, end of file or an error: `receive` reads it, or sees the end.
            if ready & 0b01 != 0 {
                guard read(receive) else { return }
            }
        }
    }

    /// `receive`, unless a caller's turn is reading (then after it, and only if still needed).
    private func read(_ receive: () -> Bool) -> Bool {
        guard let turns else { return receive() }
        guard turns.loopBeginsReading() else {
            // A turn was held when the input woke the loop (which disarmed it): the turn armed
            // it as it ended, maybe before that; arming again loses nothing.
            try? events.arm(input, tag: 0, true)
            return true
        }
        defer { turns.loopEndsReading() }
        let more = receive()
        // Armed again before a turn can be taken, which disarms it.
        if more { try? events.arm(input, tag: 0, true) }
        return more
    }

    private func takeJobs() -> [UnownedJob]? {
        lock.briefly {
            guard !jobs.isEmpty else { return nil }
            defer { jobs = [] }
            return jobs
        }
    }
}
