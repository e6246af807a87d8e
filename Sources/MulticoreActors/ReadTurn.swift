import MulticoreSystem
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// Who reads a link's answers in the program: its loop thread, or for a short while a caller
/// that waits for its own answer on its own thread (a turn).
///
/// Why: a caller suspended on a continuation costs two wake-ups in this process per call (the
/// loop thread's, woken by the answer, then a cooperative thread's, woken to resume the caller);
/// a caller that waits in the kernel for the answer itself costs one, as a blocking
/// `Connection.recv` does, and no continuation. So a call takes a turn if no other caller holds
/// one and the loop is not reading: it sends, then waits for input on the turn's own set
/// (`events`), reads what comes, hands other callers' answers and the host's calls on as the
/// loop would, and returns as soon as its answer is there. After `limit` without it, it ends
/// the turn and suspends as any call: a call slow to answer holds a cooperative thread that
/// long at most, and after a turn that ran out the next 1, 3, 7... up to 1,023 calls take none,
/// so a host whose calls are long seldom costs a blocked thread.
///
/// One reader at a time, and no wasted wake-up: the loop watches the input one-shot
/// (`LinkLoop`), disarmed for the length of a turn, so an input wakes the caller in its turn and
/// not the loop; it is armed again as the turn ends (and reported at once if input waits). If
/// the loop was woken just before a turn began, it waits here until the turn ends, then looks
/// again; a turn is not taken while the loop reads.
final class ReadTurn: @unchecked Sendable { // the state below is guarded by `condition`'s lock; `spinning`, by the turn
    /// The link's input, alone (the turn's set).
    private let events: EventPoll
    /// How long a turn waits for its answer.
    let limit: Duration
    /// The link's input.
    private let input: Int32
    /// The busy wait before a turn sleeps for input: used by the turn's holder alone.
    private var spinning: SpinWait
    private let lock = Lock()
    private let condition: Condition
    private var held = false
    private var loopReading = false
    private var loopParked = false
    /// A turn read the end of the link (or the link is done): no more turns.
    private var ended = false
    private var closed = false
    /// Turns that ran out in a row, and how many calls are still to go without one.
    private var misses = 0
    private var skips = 0
    /// Turns that ended with their answer, and without it (for tests).
    private var answered = 0
    private var missed = 0
    var countsForTests: (answered: Int, missed: Int) { lock.withLock { (answered, missed) } }

    /// Turns for the link whose input is `fd`; the set is made (and watches `fd`) now, before
    /// the loop's, which is what gives turns the input first.
    init(reading fd: Int32, limit: Duration, spin: Duration) throws {
        input = fd
        spinning = SpinWait(limit: spin)
        events = try EventPoll()
        do {
            try events.add(fd, tag: 0, mode: .exclusive)
        } catch {
            events.close()
            throw error
        }
        self.limit = limit
        condition = Condition(lock: lock)
    }

    // MARK: A caller's turn

    /// Takes a turn, or nil when this call may not: another holds one, the loop reads, the link
    /// ended, or calls are skipping turns for now. A turn taken must be ended (`end`). Returns
    /// its deadline. A call made on the loop's own thread (inside `withDirectCalls`) may take
    /// one too: the loop is then running that call's task, not reading.
    func begin() -> Deadline? {
        guard limit > .zero else { return nil }
        return lock.withLock { () -> Deadline? in
            guard !held, !loopReading, !ended, !closed else { return nil }
            if skips > 0 {
                skips -= 1
                return nil
            }
            held = true
            return Deadline.after(limit)
        }
    }

    /// Waits, in a turn, until the link has input or `deadline` passes: whether it has. It
    /// polls for a while first (`SpinWait`), then sleeps.
    func waitForInput(until deadline: Deadline) -> Bool {
        let fd = input
        if spinning.spin(until: deadline, { (try? Poll.isReady(fd, milliseconds: 0)) == true }) { return true }
        guard let left = deadline.remaining?.nanoseconds, left > 0 else { return false }
        return ((try? events.wait(nanoseconds: left)) ?? 0) != 0
    }

    /// How a turn ended.
    enum Outcome {
        /// The caller had its answer.
        case answered
        /// The time ran out first.
        case missed
        /// The caller did not wait (its call could not be sent).
        case unused
        /// The caller read the end of the link (or a message that broke it).
        case linkEnded
    }

    /// Ends the turn; a loop waiting for it reads again. Returns whether the loop must be
    /// woken to see the link's end.
    func end(_ outcome: Outcome) -> Bool {
        lock.withLock {
            held = false
            switch outcome {
            case .answered:
                answered += 1
                misses = 0
            case .missed:
                missed += 1
                misses = min(misses + 1, 10)
                skips = (1 << misses) - 1
            case .unused:
                break
            case .linkEnded:
                ended = true
            }
            if loopParked || closed { try? condition.notifyAll() }
            return outcome == .linkEnded
        }
    }

    // MARK: The loop

    /// Called by the loop thread before it reads: true if it may; false after waiting for a
    /// caller's turn to end (the turn may have read what woke the loop: it looks again).
    func loopBeginsReading() -> Bool {
        lock.withLock {
            guard held else {
                loopReading = true
                return true
            }
            loopParked = true
            while held { _ = try? condition.wait() }
            loopParked = false
            return false
        }
    }

    /// Called by the loop thread once it has read (and handled) a message.
    func loopEndsReading() {
        lock.withLock { loopReading = false }
    }

    /// Whether a turn read the end of the link: the loop ends then.
    var linkEnded: Bool { lock.withLock { ended && !closed } }

    /// Ends turns for good once the link is done (the loop has returned): waits for a turn in
    /// progress to end (its limit at most), then closes the turn's set.
    func close() {
        lock.withLock {
            ended = true
            closed = true
            while held { _ = try? condition.wait() }
        }
        events.close()
    }
}
