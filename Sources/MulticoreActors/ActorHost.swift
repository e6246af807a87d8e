import Distributed
import MulticoreProcessing
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// A child process that holds distributed actors for this program: Python's
/// `multiprocessing.Manager` (its server process), typed. Start one, spawn actors in it, and
/// call them as any actor:
///
///     let host = try await ActorHost()
///     let counter = try await host.spawn(Counter.self)
///     try await counter.add(5)
///
/// The process is a re-executed copy of this program, started as `ChildProcess` starts one
/// (`StartMethod.spawn` or `.forkserver`), and dies with the program. Its actors live until
/// released (`release()`) or until the host shuts down (`shutdown()`, or this program's exit).
///
/// When the process dies (a trap, a signal, an exit), every call in flight on its actors and
/// every later one throws `ActorHostError.hostDied`, naming the host, its pid and how it ended.
/// `restart()` starts a fresh process: the old actors are gone, and new ones start empty.
///
/// A host is a resource as a pool's worker is: with `maxCallsPerHost`, its process is replaced
/// after serving that many calls (see `init`).
public final class ActorHost: @unchecked Sendable { // `current` and `closing` are guarded by `lock`
    /// The process of the host as it runs now.
    private final class Incarnation: Sendable {
        let number: UInt32
        let process: ChildProcess<ActorHostTask>
        let link: ActorLink
        /// The loop of the thread that reads `link`: where `withDirectCalls` runs its body.
        let loop: LinkLoop
        let pid: Int32

        init(number: UInt32, process: ChildProcess<ActorHostTask>, link: ActorLink, loop: LinkLoop, pid: Int32) {
            self.number = number
            self.process = process
            self.link = link
            self.loop = loop
            self.pid = pid
        }
    }

    /// How the host's processes are started.
    public let startMethod: StartMethod
    /// The host's name, as its process knows it ("ActorHost-1").
    public let name: String
    /// How many calls a process of the host serves before a fresh one replaces it; nil: no limit.
    public let maxCallsPerHost: Int?
    /// How long a call waits for its answer on the calling thread before it suspends (see `init`).
    public let callerWait: Duration
    /// How long each end of the link polls for the next message before it sleeps (see `init`).
    public let spin: Duration
    private let lock = Lock()
    private var current: Incarnation
    private var closing = false

    /// Starts a host process.
    /// - Parameters:
    ///   - startMethod: `.spawn` (the default) or `.forkserver`.
    ///   - name: the host's name; "ActorHost-N" by default.
    ///   - maxCallsPerHost: with a number, the process serves that many distributed calls on its
    ///     actors (from this program, or passed on from other hosts; spawns and releases are not
    ///     counted), then is retired between calls: later calls on its actors throw
    ///     `ActorHostError.hostRetired` at once, the calls it accepted are all answered, and then
    ///     a fresh process takes its place (`spawn` makes actors there) and the old one exits,
    ///     its actors and their state with it. Python's `maxtasksperchild`, for a host.
    ///   - callerWait: how long a call on the host's actors waits for its answer on the thread
    ///     that made it (reading the answer itself, as a blocking `Connection.recv` would) before
    ///     it suspends as any `await`. A quick call then costs one thread wake-up in this process,
    ///     not two (the reader's and a cooperative thread's); the price is a cooperative thread
    ///     held that long at most by a call that is slow to answer (and after such a call, the
    ///     next ones on the host suspend at once for a while: see `ReadTurn`). One call at a time
    ///     per host waits so; the others suspend. 0.5 ms by default; `.zero`: every call suspends.
    ///   - spin: how long each end of the link polls for the next message before it sleeps in
    ///     the kernel: the host's loop after it answered a call, a caller in its `callerWait`
    ///     after it sent one. A call that follows another within that time then wakes no one
    ///     (on an idle virtual machine a wake-up costs tens of microseconds). It burns CPU for
    ///     that long at most, and backs off when polling finds nothing (see `SpinWait`); never
    ///     with one CPU. 30 us by default; `.zero`: never.
    /// - Throws: `ActorHostError.forkCannotStartHost` for `.fork`; `.maxCallsNotPositive`;
    ///   `.callerWaitNegative` and `.spinNegative`;
    ///   `.insideHost` in a host's process; `ProcessError.spawnFailed`, `ConnectionError.system`
    ///   when the system refuses a process or descriptors.
    public init(startMethod: StartMethod = .spawn, name: String? = nil, maxCallsPerHost: Int? = nil,
                callerWait: Duration = .microseconds(500), spin: Duration = .microseconds(30)) async throws {
        guard startMethod != .fork else { throw ActorHostError.forkCannotStartHost }
        if let maxCallsPerHost, maxCallsPerHost < 1 { throw ActorHostError.maxCallsNotPositive(maxCallsPerHost) }
        guard callerWait >= .zero else { throw ActorHostError.callerWaitNegative(callerWait) }
        guard spin >= .zero else { throw ActorHostError.spinNegative(spin) }
        self.callerWait = callerWait
        self.spin = spin
        self.startMethod = startMethod
        self.maxCallsPerHost = maxCallsPerHost
        let number = try ProcessActorSystem.shared.newHostNumber()
        self.name = name ?? "ActorHost-\(number)"
        current = try Self.start(number: number, name: self.name, startMethod: self.startMethod, maxCalls: maxCallsPerHost,
                             callerWait: callerWait, spin: spin)
        watch(current)
    }

    deinit {
        // A host nobody can reach any more is told to exit; its reader thread then ends.
        if !closing { current.link.reply(.shutdown) }
    }

    /// The host's number (`HostedActorID.process` of its actors); a restart gives a new one.
    public var number: UInt32 { lock.briefly { current.number } }

    /// The pid of the host's process.
    public var pid: Int32 { lock.briefly { current.pid } }

    /// How many calls wait for the host's answer (for tests).
    var pendingCallsForTests: Int { lock.briefly { current.link }.pendingCount }

    /// How many calls on the current process were answered in their caller's turn, and how many
    /// turns ran out (`ReadTurn`; zeros when `callerWait` is zero) (for tests).
    var turnCountsForTests: (answered: Int, missed: Int) {
        lock.briefly { current.loop }.turns?.countsForTests ?? (0, 0)
    }

    /// Runs `body` with the calls it makes on this host's actors answered on the thread that
    /// reads the host's answers: a call then costs one thread wake-up in this process instead of
    /// two (the reader's, and a cooperative thread's to resume the caller), which roughly halves
    /// a short call's time when calls follow one another (see the README's `actor.call.direct`).
    ///
    /// The price: between its awaits, `body` runs on that reader thread, so while it computes
    /// (without an `await`) no answer from this host reaches anyone, and a synchronous wait in
    /// it for something this host must answer would never end. Keep it to a sequence of calls
    /// with light work between them; the calls themselves are the same calls, with the same
    /// errors. After a restart the body goes on with the fresh process's reader; on a host
    /// that is gone, it runs on the cooperative pool.
    public func withDirectCalls<T, Failure: Error>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let loop = lock.briefly { current.loop }
        return try await withTaskExecutorPreference(loop, isolation: isolation, operation: body)
    }

    /// Creates an actor in the host's process and returns a reference to it.
    /// - Throws: `ActorHostError.hostDied`, `.hostShutDown`; `HostedActorError.unknownActorType`.
    public func spawn<A: HostedActor>(_ type: A.Type) async throws -> A {
        try await spawn(A.self, argument: nil)
    }

    /// Creates an actor in the host's process with `argument` (`init(argument:actorSystem:)`),
    /// and returns a reference to it.
    /// - Throws: what `spawn(_:)` throws; an encoding error of `argument`.
    public func spawn<A: HostedActorWithArgument>(_ type: A.Type, argument: A.Argument) async throws -> A {
        try await spawn(A.self, argument: ProcessActorSystem.shared.encode(argument))
    }

    private func spawn<A: DistributedActor>(_ type: A.Type, argument: [UInt8]?) async throws -> A where A.ActorSystem == ProcessActorSystem {
        guard let typeName = _mangledTypeName(A.self) else { throw HostedActorError.unknownActorType(String(reflecting: A.self)) }
        let link = lock.briefly { current.link }
        let reply = try await link.request { .spawn(call: $0, typeName: typeName, argument: argument) }
        guard case .actor(let id) = reply else { throw ActorHostError.unexpectedReply("\(reply) to a spawn") }
        return try A.resolve(id: id, using: ProcessActorSystem.shared)
    }

    /// Ends the host: its process exits, its actors with it; calls in flight and later calls
    /// throw `ActorHostError.hostShutDown`. Returns once the process is gone. Calling it again
    /// does nothing.
    public func shutdown() async {
        let incarnation = lock.briefly {
            closing = true
            return current
        }
        await Self.stop(incarnation)
    }

    /// Replaces the host's process with a fresh one (a dead one, or a live one after shutting it
    /// down). The actors of the old process are gone, with their state: calls on them keep
    /// throwing the error that ended it; spawn new ones.
    /// - Throws: what `init` throws.
    public func restart() async throws {
        let old = lock.briefly { current }
        await Self.stop(old)
        let number = try ProcessActorSystem.shared.newHostNumber()
        let fresh = try Self.start(number: number, name: name, startMethod: startMethod, maxCalls: maxCallsPerHost,
                               callerWait: callerWait, spin: spin)
        watch(fresh)
        lock.briefly {
            current = fresh
            closing = false
        }
    }

    /// Retires a process that has served its `maxCallsPerHost` calls, once the last is answered.
    private func watch(_ incarnation: Incarnation) {
        incarnation.link.budget?.whenSpent { [weak self] in
            Task { await self?.retire(incarnation) }
        }
    }

    /// Replaces a process that has served its calls: a fresh one takes its place first (spawns
    /// go there from then on), then the old one exits. If no fresh process can be started, the
    /// host stays retired (its spawns throw `ActorHostError.hostRetired`) until `restart()`.
    private func retire(_ old: Incarnation) async {
        if lock.briefly({ !closing && current === old }),
           let number = try? ProcessActorSystem.shared.newHostNumber(),
           let fresh = try? Self.start(number: number, name: name, startMethod: startMethod, maxCalls: maxCallsPerHost,
                               callerWait: callerWait, spin: spin) {
            watch(fresh)
            let replaced = lock.briefly { () -> Bool in
                guard !closing, current === old else { return false }
                current = fresh
                return true
            }
            if !replaced { await Self.stop(fresh) }
        }
        await Self.stop(old)
    }

    /// Asks the process to exit, and waits until its reader has seen it go (killing it if it
    /// has not exited within a second).
    private static func stop(_ incarnation: Incarnation) async {
        incarnation.link.reply(.shutdown)
        let ended = Task { await incarnation.link.ended() }
        let timer = Task {
            try await Task.sleep(for: .seconds(1))
            try? incarnation.process.kill()
        }
        await ended.value
        timer.cancel()
    }

    /// Starts host `number`: its process, its link and the thread that reads the link.
    private static func start(number: UInt32, name: String, startMethod: StartMethod, maxCalls: Int?,
                              callerWait: Duration, spin: Duration) throws -> Incarnation {
        // Two one-way pipes (see `ActorLink.incoming`).
        let (hostReads, programWrites) = try Connection.pipe(duplex: false)
        let (programReads, hostWrites) = try Connection.pipe(duplex: false)
        let process = ChildProcess(task: ActorHostTask(incoming: hostReads, outgoing: hostWrites, number: number,
                                                             spinNanoseconds: spin.nanoseconds), name: name,
                                   kind: "ActorHost", daemon: true, startMethod: startMethod, tapsStandardError: true, logger: nil)
        do {
            try process.start()
        } catch {
            for end in [hostReads, programWrites, programReads, hostWrites] { end.close() }
            throw error
        }
        // Only the host holds its ends now: its death is the end of file of what it wrote.
        hostReads.close()
        hostWrites.close()
        let system = ProcessActorSystem.shared
        let loop: LinkLoop
        do {
            loop = try LinkLoop(reading: programReads, turnLimit: callerWait, spin: spin)
        } catch {
            try? process.kill()
            _ = try? process.join(timeout: nil)
            programReads.close()
            programWrites.close()
            throw error
        }
        let pid = process.pid ?? 0
        let budget = maxCalls.map { CallBudget(limit: $0, name: name, pid: pid) }
        let link = ActorLink(incoming: programReads, outgoing: programWrites, system: system, peer: number, budget: budget,
                             turnLoop: loop)
        system.add(link)
        let incarnation = Incarnation(number: number, process: process, link: link, loop: loop, pid: pid)
        let reader = JoinableThread(name: "mc-actor-host-\(number)", daemon: true) {
            loop.run { link.receiveOne() == .more }
            let reaped = Self.reap(incarnation, name: name)
            // A process retired for its calls ended for that reason, which its actors' calls throw.
            let reason: any Error = budget.flatMap { $0.isRetiring ? $0.retired as any Error : nil } ?? reaped
            system.remove(link, because: reason)
            programReads.close()
            programWrites.close()
            link.fail(reason)
        }
        do {
            try reader.start()
        } catch {
            loop.abandon()
            try? process.kill()
            _ = try? process.join(timeout: nil)
            system.remove(link, because: error)
            programReads.close()
            programWrites.close()
            throw error
        }
        return incarnation
    }

    /// Waits for the host's process to end (it has closed its end of the link), and says how it ended.
    private static func reap(_ incarnation: Incarnation, name: String) -> any Error {
        let process = incarnation.process
        if (try? process.join(timeout: .seconds(1))) != true {
            try? process.kill()
            _ = try? process.join(timeout: nil)
        }
        // Its pidfd is let go of as soon as its end is known, not when the host is dropped.
        defer { try? process.close() }
        do {
            _ = try process.result()
            return ActorHostError.hostShutDown(name: name, pid: incarnation.pid)
        } catch ProcessError.crashed(let report), ProcessError.exitedWithoutResult(let report) {
            return ActorHostError.hostDied(ActorHostDeath(name: name, number: incarnation.number, report: report))
        } catch {
            return ActorHostError.hostShutDown(name: name, pid: incarnation.pid)
        }
    }
}
