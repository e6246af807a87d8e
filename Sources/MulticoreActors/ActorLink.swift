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
    /// In the program: the loop that reads this link, whose turns let a caller read its own
    /// answer (`ReadTurn`); nil in a host.
    let turnLoop: LinkLoop?
    private let lock = Lock()
    private var nextCall: UInt64 = 0
    /// Who waits for an answer: a suspended caller, or one that reads in its turn (its answer
    /// is left here, for it to take).
    private enum Waiter {
        case suspended(CheckedContinuation<ActorReply, any Error>)
        case reading(Result<ActorReply, any Error>?)
    }
    private var pending: [UInt64: Waiter] = [:]
    private var running: [UInt64: Task<Void, Never>] = [:]
    /// Calls registered but not yet written, and those of them cancelled meanwhile: their
    /// cancel message must follow the call, never pass it.
    private var unsent: Set<UInt64> = []
    private var cancelledUnsent: Set<UInt64> = []
    /// Why the link is closed, once it is: what every later request throws.
    private var failure: (any Error)?
    private var endWaiters: [CheckedContinuation<Void, Never>] = []

    init(incoming: Connection, outgoing: Connection, system: ProcessActorSystem, peer: UInt32, executor: (any TaskExecutor)? = nil,
         budget: CallBudget? = nil, turnLoop: LinkLoop? = nil) {
        self.executor = executor
        self.turnLoop = turnLoop
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
        if let turnLoop, let deadline = turnLoop.beginTurn() {
            return try await requestInTurn(number, message, loop: turnLoop, until: deadline)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ActorReply, any Error>) in
                let refused: (any Error)? = lock.briefly {
                    if let failure { return failure }
                    if Task.isCancelled { return CancellationError() }
                    pending[number] = .suspended(continuation)
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
                    takeSuspended(number)?.resume(throwing: error)
                }
            }
        } onCancel: {
            let (continuation, written) = lock.briefly {
                let continuation = takeSuspendedLocked(number)
                guard continuation != nil, unsent.contains(number) else { return (continuation, true) }
                cancelledUnsent.insert(number) // the sender tells the peer once the call is out
                return (continuation, false)
            }
            guard let continuation else { return }
            continuation.resume(throwing: CancellationError())
            if written { try? transmit(.cancel(call: number)) }
        }
    }

    /// A call made in a turn: it is sent, then this thread reads the link until its answer
    /// comes (handling what else comes as the loop would) or the turn's time runs out; then it
    /// waits suspended as any call.
    private func requestInTurn(_ number: UInt64, _ message: ActorMessage, loop: LinkLoop, until deadline: Deadline) async throws -> ActorReply {
        let refused: (any Error)? = lock.briefly {
            if let failure { return failure }
            if Task.isCancelled { return CancellationError() }
            pending[number] = .reading(nil)
            return nil
        }
        if let refused {
            loop.endTurn(.unused)
            throw refused
        }
        do {
            try transmit(message)
        } catch {
            loop.endTurn(.unused)
            // A dead peer: the loop sees its end and fails every call with the reason.
            // Anything else fails this call alone.
            guard case ConnectionError.brokenPipe = error else {
                lock.briefly { _ = pending.removeValue(forKey: number) }
                throw error
            }
            return try await answerSuspended(number)
        }
        var outcome: ReadTurn.Outcome = .missed
        reading: while true {
            if !incoming.hasBufferedMessage {
                guard loop.turns?.waitForInput(until: deadline) == true else { break reading }
            }
            guard receiveOne() == .more else {
                outcome = .linkEnded
                break reading
            }
            if let answer = takeReadAnswer(number) {
                // What came with it into the connection's buffer is handled before the turn
                // ends: the loop, waiting in the kernel, would not see it.
                while incoming.hasBufferedMessage {
                    guard receiveOne() == .more else {
                        loop.endTurn(.linkEnded)
                        return try answer.get()
                    }
                }
                loop.endTurn(.answered)
                return try answer.get()
            }
        }
        if outcome == .missed {
            while incoming.hasBufferedMessage {
                guard receiveOne() == .more else {
                    outcome = .linkEnded
                    break
                }
            }
        }
        loop.endTurn(outcome)
        return try await answerSuspended(number)
    }

    /// The answer a call in a turn was left, if it came (taken out of `pending`).
    private func takeReadAnswer(_ number: UInt64) -> Result<ActorReply, any Error>? {
        lock.briefly {
            guard case .reading(let answer?) = pending[number] else { return nil }
            pending.removeValue(forKey: number)
            return answer
        }
    }

    /// Waits, suspended, for the answer to call `number`, sent already (registered as
    /// `.reading`): what a call does once its turn has ended without it. Cancelling the
    /// waiting task makes it throw `CancellationError` at once and tells the peer.
    private func answerSuspended(_ number: UInt64) async throws -> ActorReply {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ActorReply, any Error>) in
                let (ready, cancelled): (Result<ActorReply, any Error>?, Bool) = lock.briefly {
                    // An answer left meanwhile comes first; then the link's end; then a cancel.
                    if case .reading(let answer?) = pending.removeValue(forKey: number) { return (answer, false) }
                    if let failure { return (.failure(failure), false) }
                    if Task.isCancelled { return (.failure(CancellationError()), true) }
                    pending[number] = .suspended(continuation)
                    return (nil, false)
                }
                if let ready { continuation.resume(with: ready) }
                if cancelled { try? transmit(.cancel(call: number)) }
            }
        } onCancel: {
            guard let continuation = takeSuspended(number) else { return }
            continuation.resume(throwing: CancellationError())
            try? transmit(.cancel(call: number))
        }
    }

    /// Takes the continuation of a suspended call out of `pending`.
    private func takeSuspended(_ number: UInt64) -> CheckedContinuation<ActorReply, any Error>? {
        lock.briefly { takeSuspendedLocked(number) }
    }

    /// `takeSuspended`, with `lock` held.
    private func takeSuspendedLocked(_ number: UInt64) -> CheckedContinuation<ActorReply, any Error>? {
        guard case .suspended(let continuation) = pending[number] else { return nil }
        pending.removeValue(forKey: number)
        return continuation
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
        // A caller reading in its turn finds its answer left for it.
        lock.briefly { () -> CheckedContinuation<ActorReply, any Error>? in
            switch pending[call] {
            case .suspended(let continuation):
                pending.removeValue(forKey: call)
                return continuation
            case .reading(nil):
                pending[call] = .reading(outcome)
                return nil
            case .reading, nil:
                return nil
            }
        }?.resume(with: outcome)
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
    /// An answer that came before the end, for a caller yet to take it (its turn ended just
    /// before), is kept for it.
    func fail(_ error: any Error) {
        let (waiting, tasks, waiters) = lock.briefly {
            if failure == nil { failure = error }
            defer {
                pending = pending.filter { if case .reading(.some) = $0.value { true } else { false } }
                running = [:]
                endWaiters = []
            }
            let waiting = pending.values.compactMap { waiter -> CheckedContinuation<ActorReply, any Error>? in
                if case .suspended(let continuation) = waiter { return continuation }
                return nil
            }
            return (waiting, Array(running.values), endWaiters)
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
