import MulticoreProcessing
import MulticoreThreading

/// One end of the link between the program and a host: both ends call and serve (a host's
/// actor can call back an actor of the program). It keeps the calls waiting for an answer, which
/// all fail at once, with the reason given to `fail`, when the connection ends; and the calls it
/// runs for the peer, so that a cancel message reaches the task running one.
final class ActorLink: @unchecked Sendable { // `nextCall`, `pending`, `running`, `failure` and `endWaiters` are guarded by `lock`
    /// What the peer writes: read here only. A link is two one-way pipes, not a socket pair:
    /// measured here, a message through a pipe costs the kernel about half what it costs
    /// through a Unix socket (no socket buffer to allocate and account), and a pipe's reader is
    /// never woken by the peer reading what this end sent.
    let incoming: Connection
    /// What this end writes.
    let outgoing: Connection
    let system: ProcessActorSystem
    /// The process at the other end: a host's number, or 0 (the program) from a host.
    let peer: UInt32
    /// Where the calls the peer makes run: a host's read loop, or nil (the cooperative pool).
    let executor: (any TaskExecutor)?
    /// The calls the peer (a host with `maxCallsPerHost`) may still serve, if limited.
    let budget: CallBudget?
    private let lock = Lock()
    private var nextCall: UInt64 = 0
    private var pending: [UInt64: CheckedContinuation<ActorReply, any Error>] = [:]
    private var running: [UInt64: Task<Void, Never>] = [:]
    /// Calls registered but not yet written, and those of them cancelled meanwhile: their
    /// cancel message must follow the call, never pass it.
    private var unsent: Set<UInt64> = []
    private var cancelledUnsent: Set<UInt64> = []
    /// Why the link is closed, once it is: what every later request throws.
    private var failure: (any Error)?
    private var endWaiters: [CheckedContinuation<Void, Never>] = []

    init(incoming: Connection, outgoing: Connection, system: ProcessActorSystem, peer: UInt32, executor: (any TaskExecutor)? = nil,
         budget: CallBudget? = nil) {
        self.executor = executor
        self.budget = budget
        self.incoming = incoming
        self.outgoing = outgoing
        self.system = system
        self.peer = peer
    }

    // MARK: Calling

    /// Sends the message `make` builds with a new call number, and waits for its answer.
    /// Cancelling the waiting task makes it throw `CancellationError` at once and tells the
    /// peer (`cancel`), whose task running the call is cancelled; its answer is then dropped.
    func request(_ make: (UInt64) -> ActorMessage) async throws -> ActorReply {
        let number: UInt64 = lock.briefly {
            nextCall &+= 1
            return nextCall
        }
        let message = make(number)
        // A call on a host with `maxCallsPerHost` takes one of its calls, given back answered.
        let budget: CallBudget? = if case .call = message { self.budget } else { nil }
        try budget?.take()
        defer { budget?.done() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ActorReply, any Error>) in
                let refused: (any Error)? = lock.briefly {
                    if let failure { return failure }
                    if Task.isCancelled { return CancellationError() }
                    pending[number] = continuation
                    unsent.insert(number)
                    return nil
                }
                if let refused { return continuation.resume(throwing: refused) }
                do {
                    try transmit(message)
                    let cancelled = lock.briefly {
                        unsent.remove(number)
                        return cancelledUnsent.remove(number) != nil
                    }
                    if cancelled { try? transmit(.cancel(call: number)) }
                } catch {
                    lock.briefly {
                        unsent.remove(number)
                        cancelledUnsent.remove(number)
                    }
                    // A dead peer: the reader sees its end and fails every call with the reason.
                    // Anything else fails this call alone.
                    if case ConnectionError.brokenPipe = error { return }
                    lock.briefly { pending.removeValue(forKey: number) }?.resume(throwing: error)
                }
            }
        } onCancel: {
            let (continuation, written) = lock.briefly {
                let continuation = pending.removeValue(forKey: number)
                guard continuation != nil, unsent.contains(number) else { return (continuation, true) }
                cancelledUnsent.insert(number) // the sender tells the peer once the call is out
                return (continuation, false)
            }
            guard let continuation else { return }
            continuation.resume(throwing: CancellationError())
            if written { try? transmit(.cancel(call: number)) }
        }
    }

    /// Sends an answer (or a cancel); a peer that is gone does not need it.
    func reply(_ message: ActorMessage) {
        try? transmit(message)
    }

    /// Writes one message (blocking while the pipe is full).
    func transmit(_ message: ActorMessage) throws {
        var frame = try message.frame()
        try outgoing.sendFrame(&frame)
    }

    // MARK: Receiving

    /// Receives and handles messages until the connection ends, breaks or says `shutdown`; run
    /// by the one thread that reads this link. Returns whether the peer said `shutdown`.
    @discardableResult
    func receive() -> Bool {
        while true {
            // Waits in poll(2), not in read(2): a reader asleep in read on this socket is woken
            // whenever the peer reads what this end sent (the kernel's "write space" wake-up
            // ignores what the sleeper waits for), a wasted wake-up per call; poll's sleeper is
            // woken only for input. A failed poll is met again by the receive that follows.
            _ = try? incoming.poll(timeout: nil)
            switch receiveOne() {
            case .more: continue
            case .ended: return false
            case .shutdown: return true
            }
        }
    }

    enum Received { case more, ended, shutdown }

    /// Receives and handles one message (blocking until it comes).
    func receiveOne() -> Received {
        let message: ActorMessage
        do {
            message = try ActorMessage(payload: incoming.recvBytes())
        } catch {
            return .ended
        }
        switch message {
        case .returned(let call, let value): answer(call, with: .success(.value(value)))
        case .spawned(let call, let actor): answer(call, with: .success(.actor(actor)))
        case .threw(let call, let failure): answer(call, with: .failure(failure.error))
        case .call(let call): serve(call.number) { await self.system.execute(call, for: self) }
        case .spawn(let call, let typeName, let argument):
            serve(call) { self.system.spawnHere(typeName, argument: argument, call: call, for: self) }
        case .release(let call, let actor):
            serve(call) { self.system.releaseHere(actor, call: call, for: self) }
        case .cancel(let call): lock.briefly { running[call] }?.cancel()
        case .shutdown: return .shutdown
        }
        return .more
    }

    private func answer(_ call: UInt64, with outcome: Result<ActorReply, any Error>) {
        // A call whose caller was cancelled has no continuation any more: its answer is dropped.
        lock.briefly { pending.removeValue(forKey: call) }?.resume(with: outcome)
    }

    /// Runs `work` for the peer in a task of its own, cancellable by a `cancel` message.
    private func serve(_ call: UInt64, _ work: @escaping @Sendable () async -> Void) {
        lock.briefly {
            guard failure == nil else { return }
            running[call] = Task(executorPreference: executor) {
                await work()
                self.lock.briefly { _ = self.running.removeValue(forKey: call) }
            }
        }
    }

    // MARK: The end

    /// Closes the link for good: every call waiting for an answer, and every later one, throws
    /// `error`; the calls running for the peer are cancelled. Called once the reader is done.
    func fail(_ error: any Error) {
        let (waiting, tasks, waiters) = lock.briefly {
            if failure == nil { failure = error }
            defer {
                pending = [:]
                running = [:]
                endWaiters = []
            }
            return (Array(pending.values), Array(running.values), endWaiters)
        }
        for continuation in waiting { continuation.resume(throwing: error) }
        for task in tasks { task.cancel() }
        for waiter in waiters { waiter.resume() }
    }

    /// The error the link failed with, nil while it is open.
    var closedBy: (any Error)? { lock.briefly { failure } }

    /// Returns once the link has failed (the reader is done).
    func ended() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = lock.briefly {
                if failure != nil { return true }
                endWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// How many calls wait for an answer (for tests).
    var pendingCount: Int { lock.briefly { pending.count } }
}
