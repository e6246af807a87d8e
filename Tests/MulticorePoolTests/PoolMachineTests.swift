import Testing
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// The pool's policy, driven event by event without a single process: each scenario is a table
/// of events and the actions the machine must answer with, rendered as short strings.
@Suite struct PoolMachineTests {
    /// One event of a scenario, at a time in milliseconds.
    enum Event: CustomStringConvertible {
        /// Jobs queued: ids, with a timeout (ms) and retries.
        case submit([UInt64], timeout: Int? = nil, retries: Int = 0)
        /// The machine plans (start workers, dispatch): rendered as "start N" or "wait N" then the actions.
        case plan(at: Int)
        /// As many workers as asked are started (their numbers are 1, 2, ... in order).
        case started(Int, at: Int)
        case cannotStart(at: Int)
        case reply(worker: Int, id: UInt64, at: Int)
        case initializer(worker: Int, failed: Bool, at: Int = 0)
        case brokenChannel(worker: Int, endOfFile: Bool)
        case exit(worker: Int, code: Int32, at: Int)
        case tick(at: Int)
        case interrupt([UInt64], at: Int)
        case shutdown(cancelFutures: Bool)
        case terminate(at: Int = 0)

        var description: String {
            switch self {
            case .submit(let ids, _, _): "submit \(ids)"
            case .plan(let at): "plan at \(at)"
            case .started(let count, _): "\(count) started"
            case .cannotStart: "cannot start"
            case .reply(let worker, let id, _): "w\(worker) replies for \(id)"
            case .initializer(let worker, let failed, _): "w\(worker)'s initializer \(failed ? "failed" : "succeeded")"
            case .brokenChannel(let worker, let endOfFile): "w\(worker)'s channel \(endOfFile ? "ends" : "is corrupt")"
            case .exit(let worker, let code, _): "w\(worker) exits \(code)"
            case .tick(let at): "tick at \(at)"
            case .interrupt(let ids, _): "interrupt \(ids)"
            case .shutdown(let cancel): "shutdown(cancelFutures: \(cancel))"
            case .terminate: "terminate"
            }
        }
    }

    struct Scenario: CustomTestStringConvertible, Sendable {
        let name: String
        var settings = PoolMachine.Settings(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: false)
        let steps: [(Event, [String])]
        var testDescription: String { name }
    }

    /// Drives `scenario`, checking each event's actions.
    @Test(arguments: Self.scenarios) func scenario(_ scenario: Scenario) {
        var machine = PoolMachine(settings: scenario.settings)
        var started = 0
        for (event, expected) in scenario.steps {
            #expect(Self.apply(event, to: &machine, started: &started) == expected, "after \(event) in \(scenario.name)")
        }
    }

    /// The manager asks `hasNews` before it sleeps, and does not sleep (nor read) while it is
    /// true: a worker at its maxTasksPerChild budget must not count as one that can take work,
    /// or the manager would spin without ever reading the replies that free it.
    @Test func aWorkerAtItsTaskBudgetIsNoReasonNotToSleep() throws {
        var machine = PoolMachine(settings: .init(maxWorkers: 1, maxTasksPerChild: 1, killGrace: 0, hasInitializer: false))
        try machine.submit([Self.job(1, timeout: nil, retries: 0), Self.job(2, timeout: nil, retries: 0)])
        var actions: [PoolAction] = []
        _ = machine.workerStarted(WorkerIdentity(pid: 101, name: "w1"), now: 0)
        #expect(machine.plan(now: 0, into: &actions) == .wait(milliseconds: -1))
        #expect(actions.map(Self.render) == ["send w1 define 0, run 1"])
        #expect(machine.pending.map(\.id) == [2])
        #expect(!machine.hasNews(since: machine.generation))
    }

    /// A map's chunks come as one collection (the queue makes room for them once), single
    /// submits one by one, maps again on a queue that is not empty: the queue keeps them all in
    /// the order they came, and hands them out in that order.
    @Test func chunksQueuedInBulkAndOneByOneKeepTheirOrder() throws {
        var machine = PoolMachine(settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 0, hasInitializer: false))
        try machine.submit((1...1000).map { Self.job(UInt64($0), timeout: nil, retries: 0) })
        for id in 1001...1010 { try machine.submit(CollectionOfOne(Self.job(UInt64(id), timeout: nil, retries: 0))) }
        try machine.submit((1011...3000).lazy.map { Self.job(UInt64($0), timeout: nil, retries: 0) })
        #expect(machine.pending.map(\.id) == Array(1...3000))
        _ = machine.workerStarted(WorkerIdentity(pid: 101, name: "w1"), now: 0)
        var actions: [PoolAction] = []
        _ = machine.plan(now: 0, into: &actions)
        #expect(actions.map(Self.render) == ["send w1 define 0, run 1, run 2"])
        #expect(machine.pending.first?.id == 3 && machine.pending.count == 2998)
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "a worker's death with prefetched work fails the running job and requeues the rest in order", steps: [
            (.submit([1, 2, 3]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            // Tasks of unknown length (an average of 1 s until replies come): two ahead.
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.exit(worker: 1, code: -9, at: 5), ["release w1", "fail 1 died(-9, attempts 1) by w1"]),
            (.plan(at: 5), ["start 1"]),
            (.started(1, at: 5), []),
            (.plan(at: 5), ["wait -1", "send w2 define 0, run 2, run 3"]),
        ]),
        Scenario(name: "a death while the initializer runs fails what the worker held and the queue, then backs off",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: true), steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.submit([3]), []),
            (.initializer(worker: 1, failed: true), []),
            (.exit(worker: 1, code: 0, at: 1), ["release w1", "fail 1 initializer by w1", "fail 2 initializer by w1", "fail 3 initializer by w1"]),
            // Nothing queued: no worker is started until new work comes, and then only after 50 ms.
            (.plan(at: 2), ["wait -1"]),
            (.submit([4]), []),
            (.plan(at: 2), ["wait 49"]),
            (.plan(at: 51), ["start 1"]),
        ]),
        Scenario(name: "a timeout fails the job and stops its worker: SIGTERM, then SIGKILL after the grace", steps: [
            (.submit([1], timeout: 100), []),
            (.submit([2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait 100", "send w1 define 0, run 1, run 2"]),
            (.tick(at: 99), []),
            (.tick(at: 100), ["terminate w1", "fail 1 timedOut by w1"]),
            (.plan(at: 100), ["start 1"]),
            (.tick(at: 299), []),
            (.tick(at: 300), ["kill w1"]),
            // Its end is the pool's doing: the job it had not started runs elsewhere, charged nothing.
            (.exit(worker: 1, code: -9, at: 301), ["release w1"]),
            (.started(1, at: 301), []),
            (.plan(at: 301), ["wait -1", "send w2 define 0, run 2"]),
        ]),
        Scenario(name: "a reply for a job that already timed out is dropped, and the job behind it is not lost", steps: [
            (.submit([1], timeout: 100), []),
            (.submit([2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait 100", "send w1 define 0, run 1, run 2"]),
            (.tick(at: 100), ["terminate w1", "fail 1 timedOut by w1"]),
            (.reply(worker: 1, id: 1, at: 101), []),
            (.exit(worker: 1, code: -15, at: 102), ["release w1"]),
            (.started(1, at: 102), []),
            (.plan(at: 102), ["wait -1", "send w2 define 0, run 2"]),
            (.reply(worker: 2, id: 2, at: 103), ["deliver 2 by w2"]),
        ]),
        Scenario(name: "cancelling a running job stops its worker; one given but not started is taken back", steps: [
            (.submit([1, 2, 3]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.interrupt([3, 2], at: 1), ["fail 3 cancelled", "fail 2 cancelled"]),
            (.interrupt([1], at: 2), ["terminate w1", "fail 1 cancelled by w1"]),
            (.exit(worker: 1, code: -15, at: 3), ["release w1"]),
            (.plan(at: 3), ["start 1"]),
            (.started(1, at: 3), []),
            (.plan(at: 3), ["wait -1"]), // nothing left to run
        ]),
        Scenario(name: "a job whose workers keep dying runs again until its retries are used", steps: [
            (.submit([1], retries: 1), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1"]),
            (.exit(worker: 1, code: -11, at: 1), ["release w1"]),
            (.started(1, at: 1), []),
            (.plan(at: 1), ["wait -1", "send w2 define 0, run 1"]),
            (.exit(worker: 2, code: -11, at: 2), ["release w2", "fail 1 died(-11, attempts 2) by w2"]),
        ]),
        Scenario(name: "a worker that reached maxTasksPerChild is told to stop and replaced",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: 2, killGrace: 200_000_000, hasInitializer: false), steps: [
            (.submit([1, 2, 3]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.reply(worker: 1, id: 1, at: 1), ["deliver 1 by w1"]),
            // Not topped up: with job 2 in flight, w1 is at its limit.
            (.plan(at: 1), ["wait -1"]),
            (.reply(worker: 1, id: 2, at: 2), ["send w1 stop", "deliver 2 by w1"]),
            (.plan(at: 2), ["start 1"]),
            (.started(1, at: 2), []),
            (.plan(at: 2), ["wait -1", "send w2 define 0, run 3"]),
            (.exit(worker: 1, code: 0, at: 3), ["release w1"]),
            (.reply(worker: 2, id: 3, at: 4), ["deliver 3 by w2"]),
        ]),
        Scenario(name: "shutdown without cancelFutures runs what is queued, then finishes", steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.shutdown(cancelFutures: false), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.submit([3]), ["refused: cannot schedule new futures after shutdown"]),
            (.reply(worker: 1, id: 1, at: 1), ["deliver 1 by w1"]),
            (.plan(at: 1), ["wait -1"]),
            (.reply(worker: 1, id: 2, at: 2), ["deliver 2 by w1"]),
            (.plan(at: 2), ["finished"]),
        ]),
        Scenario(name: "shutdown with cancelFutures cancels what is queued and lets running work finish", steps: [
            (.submit([1]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1"]),
            (.submit([2, 3]), []),
            (.shutdown(cancelFutures: true), ["cancel 2", "cancel 3"]),
            (.plan(at: 1), ["wait -1"]),
            (.reply(worker: 1, id: 1, at: 2), ["deliver 1 by w1"]),
            (.plan(at: 2), ["finished"]),
        ]),
        Scenario(name: "terminate cancels what is queued and stops every worker", steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.submit([3]), []),
            (.terminate(at: 0), ["cancel 3", "terminate w1"]),
            // Job 2 was given to w1 but not started: it is not run again.
            (.exit(worker: 1, code: -15, at: 1), ["release w1", "fail 2 FutureError.cancelled", "fail 1 died(-15, attempts 1) by w1"]),
            (.plan(at: 1), ["finished"]),
        ]),
        Scenario(name: "a corrupt frame from a live worker kills it and fails its running job as a protocol error", steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.reply(worker: 1, id: 1, at: 1), ["deliver 1 by w1"]),
            (.brokenChannel(worker: 1, endOfFile: false), ["kill w1"]),
            (.exit(worker: 1, code: -9, at: 2), ["release w1", "fail 2 protocol(attempts 1) by w1"]),
        ]),
        Scenario(name: "a forged initializer report, or a reply before the real one, breaks the protocol",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: true), steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.initializer(worker: 1, failed: false), []),
            (.initializer(worker: 1, failed: true), ["kill w1"]), // a task forging one
            (.reply(worker: 1, id: 1, at: 1), []), // what follows on a broken channel is not believed
            (.exit(worker: 1, code: -9, at: 1), ["release w1", "fail 1 protocol(attempts 1) by w1"]),
            (.started(1, at: 1), []),
            (.plan(at: 1), ["wait -1", "send w2 define 0, run 2"]),
            (.reply(worker: 2, id: 2, at: 2), ["kill w2"]), // no initializer's report came first
        ]),
        Scenario(name: "a worker that cannot be started fails the queued jobs when none serves, and is retried after a back-off",
                 settings: .init(maxWorkers: 2, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: false), steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 2"]),
            (.cannotStart(at: 0), ["fail 1 cannotStart", "fail 2 cannotStart"]),
            (.submit([3]), []),
            (.plan(at: 50), ["wait 50"]),
            (.plan(at: 100), ["start 2"]),
            (.started(1, at: 100), []),
            // One serves: the queue waits for it rather than failing.
            (.cannotStart(at: 100), []),
            (.plan(at: 100), ["wait 100", "send w1 define 0, run 3"]),
        ]),
        Scenario(name: "shutdown with cancelFutures fails a job back from a dead worker (its future runs: it cannot be cancelled)", steps: [
            (.submit([1], timeout: 100), []),
            (.submit([2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait 100", "send w1 define 0, run 1, run 2"]),
            (.tick(at: 100), ["terminate w1", "fail 1 timedOut by w1"]),
            (.exit(worker: 1, code: -15, at: 101), ["release w1"]), // job 2 is queued again
            (.shutdown(cancelFutures: true), ["fail 2 FutureError.cancelled"]),
            (.plan(at: 101), ["finished"]),
        ]),
        Scenario(name: "terminate stops workers, kills them after the grace, and runs nothing again, retries or not", steps: [
            (.submit([1], retries: 1), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1"]),
            (.terminate(at: 10), ["terminate w1"]),
            (.plan(at: 10), ["wait 200"]),
            (.tick(at: 210), ["kill w1"]),
            (.exit(worker: 1, code: -9, at: 211), ["release w1", "fail 1 died(-9, attempts 1) by w1"]),
            (.plan(at: 211), ["finished"]),
        ]),
        Scenario(name: "a worker that dies before its initializer reports fails what it held and the queue, and backs off",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: true), steps: [
            (.submit([1, 2, 3]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.exit(worker: 1, code: -6, at: 1), ["release w1",
                "fail 1 initializer(the worker crashed (SIGABRT) before its initializer reported) by w1",
                "fail 2 initializer(the worker crashed (SIGABRT) before its initializer reported) by w1",
                "fail 3 initializer(the worker crashed (SIGABRT) before its initializer reported) by w1"]),
            (.plan(at: 2), ["wait -1"]), // nothing queued: no worker started, no spin
            (.submit([4]), []),
            (.plan(at: 2), ["wait 49"]),
        ]),
        Scenario(name: "a job's timeout counts from its worker's initializer report, not from its dispatch",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: true), steps: [
            (.submit([1], timeout: 100), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1"]),
            (.tick(at: 400), []), // the initializer is still running: no task is timed yet
            (.initializer(worker: 1, failed: false, at: 500), []),
            (.plan(at: 500), ["wait 100"]),
            (.tick(at: 599), []),
            (.tick(at: 600), ["terminate w1", "fail 1 timedOut by w1"]),
        ]),
        Scenario(name: "no worker starts between a failed initializer's report and its end",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 200_000_000, hasInitializer: true), steps: [
            (.submit([1, 2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.initializer(worker: 1, failed: true, at: 1), []),
            (.submit([3]), []),
            (.plan(at: 1), ["wait -1"]),
            (.exit(worker: 1, code: 0, at: 2), ["release w1", "fail 1 initializer by w1", "fail 2 initializer by w1", "fail 3 initializer by w1"]),
        ]),
        Scenario(name: "a cancelled job given ahead stays in its place: the worker's crash while running it charges nobody",
                 settings: .init(maxWorkers: 1, maxTasksPerChild: 2, killGrace: 200_000_000, hasInitializer: false), steps: [
            (.submit([1, 2, 3]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait -1", "send w1 define 0, run 1, run 2"]),
            (.interrupt([2], at: 1), ["fail 2 cancelled"]),
            (.plan(at: 1), ["wait -1"]), // still at its limit: job 2 will run all the same
            (.reply(worker: 1, id: 1, at: 2), ["deliver 1 by w1"]),
            (.exit(worker: 1, code: -11, at: 3), ["release w1"]), // it died running 2: no one is charged
            (.started(1, at: 3), []),
            (.plan(at: 3), ["wait -1", "send w2 define 0, run 3"]),
        ]),
        Scenario(name: "cancelling the job behind a timed-out one on a stopping worker fails it, and it never runs again", steps: [
            (.submit([1], timeout: 100), []),
            (.submit([2]), []),
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.plan(at: 0), ["wait 100", "send w1 define 0, run 1, run 2"]),
            (.tick(at: 100), ["terminate w1", "fail 1 timedOut by w1"]),
            (.reply(worker: 1, id: 1, at: 101), []),
            (.interrupt([2], at: 102), ["fail 2 cancelled by w1"]),
            (.exit(worker: 1, code: -15, at: 103), ["release w1"]),
            (.started(1, at: 103), []),
            (.plan(at: 103), ["wait -1"]),
        ]),
        Scenario(name: "a worker that ends before it ever answers, holding nothing, is replaced after a back-off", steps: [
            (.plan(at: 0), ["start 1"]),
            (.started(1, at: 0), []),
            (.exit(worker: 1, code: -11, at: 1), ["release w1"]),
            (.plan(at: 1), ["wait 100"]),
            (.plan(at: 101), ["start 1"]),
        ]),
    ]

    /// A submit, cancel, shutdown or terminate that comes between a plan and the manager's sleep
    /// makes the plan stale, whatever it changed (here: work queued with no worker serving).
    @Test func anEventFromOutsideAfterThePlanIsNews() throws {
        var machine = PoolMachine(settings: .init(maxWorkers: 1, maxTasksPerChild: nil, killGrace: 0, hasInitializer: true))
        var actions: [PoolAction] = []
        _ = machine.workerStarted(WorkerIdentity(pid: 101, name: "w1"), now: 0)
        machine.initializerReported(by: 1, .initializerFailed(pid: 101, type: "", message: "no"), now: 0, into: &actions)
        machine.workerExited(1, WorkerEnd(exitCode: 0), now: 0, into: &actions)
        #expect(machine.plan(now: 0, into: &actions) == .wait(milliseconds: -1))
        let planned = machine.generation
        #expect(!machine.hasNews(since: planned))
        try machine.submit([Self.job(1, timeout: nil, retries: 0)])
        #expect(machine.hasNews(since: planned))
        #expect(machine.plan(now: 0, into: &actions) == .wait(milliseconds: 50))
    }

    // MARK: Driving and rendering

    /// `started` counts the workers started so far: the machine numbers them 1, 2, ... and the
    /// tests name them "w1", "w2", ... to match.
    private static func apply(_ event: Event, to machine: inout PoolMachine, started: inout Int) -> [String] {
        var actions: [PoolAction] = []
        var rendered: [String] = []
        let ms: (Int) -> Int64 = { Int64($0) * 1_000_000 }
        switch event {
        case .submit(let ids, let timeout, let retries):
            do {
                try machine.submit(ids.map { job($0, timeout: timeout.map { .milliseconds($0) }, retries: retries) })
            } catch {
                rendered.append("refused: \(error)")
            }
        case .plan(let at):
            switch machine.plan(now: ms(at), into: &actions) {
            case .finished: rendered.append("finished")
            case .start(let count): rendered.append("start \(count)")
            case .wait(let milliseconds): rendered.append("wait \(milliseconds)")
            }
        case .started(let count, let at):
            for _ in 0..<count {
                started += 1
                let id = machine.workerStarted(WorkerIdentity(pid: Int32(100 + started), name: "w\(started)"), now: ms(at))
                if id != started { rendered.append("numbered \(id), not \(started)") }
            }
        case .cannotStart(let at):
            machine.workerCouldNotStart(reason: "no descriptors", now: ms(at), into: &actions)
        case .reply(let worker, let id, let at):
            machine.replyArrived(from: worker, id: id, now: ms(at), into: &actions)
        case .initializer(let worker, let failed, let at):
            let error = failed ? PoolError.initializerFailed(pid: 0, type: "Setup", message: "no") : nil
            machine.initializerReported(by: worker, error, now: ms(at), into: &actions)
        case .brokenChannel(let worker, let endOfFile):
            let error: any Error = endOfFile ? ConnectionError.endOfFile : WireError.corrupt(offset: 0, reason: "bad checksum")
            machine.channelFailed(worker, error, into: &actions)
        case .exit(let worker, let code, let at):
            machine.workerExited(worker, WorkerEnd(exitCode: code), now: ms(at), into: &actions)
        case .tick(let at):
            machine.tick(now: ms(at), into: &actions)
        case .interrupt(let ids, let at):
            machine.interrupt(Set(ids), now: ms(at), into: &actions)
        case .shutdown(let cancelFutures):
            machine.shutdown(cancelFutures: cancelFutures, into: &actions)
        case .terminate(let at):
            machine.terminate(now: ms(at), into: &actions)
        }
        return rendered + actions.compactMap(render)
    }

    private static func job(_ id: UInt64, timeout: Duration?, retries: Int) -> PoolJob {
        PoolJob(id: id, index: Int(id), typeName: "Task", count: 1, format: .coded, payload: [], timeout: timeout,
                retriesLeft: retries, start: { true }, cancel: {}, describe: { "job \($0.id)" }, decode: { _, _, _ in })
    }

    /// What an action is in the scenarios' tables (nil: reports for logs, checked on their own).
    private static func render(_ action: PoolAction) -> String? {
        switch action {
        case .send(let worker, let requests):
            return "send w\(worker) " + requests.map { request in
                switch request {
                case .define(let index, _): "define \(index)"
                case .run(let id, _, _, _, _): "run \(id)"
                case .stop: "stop"
                }
            }.joined(separator: ", ")
        case .terminate(let worker): return "terminate w\(worker)"
        case .kill(let worker): return "kill w\(worker)"
        case .deliver(let job, let worker, _): return "deliver \(job.id) by \(worker.name)"
        case .fail(let job, let failure, let worker): return "fail \(job.id) \(render(failure))" + (worker.map { " by \($0.name)" } ?? "")
        case .cancel(let job): return "cancel \(job.id)"
        case .release(let worker): return "release w\(worker)"
        case .ended, .retried: return nil
        }
    }

    private static func render(_ failure: PoolFailure) -> String {
        switch failure {
        case .workerDied(let report, let attempts): "died(\(report.exitCode), attempts \(attempts))"
        case .protocolError(_, _, let attempts): "protocol(attempts \(attempts))"
        case .timedOut: "timedOut"
        case .memoryLimitExceeded: "memoryLimit"
        case .error(PoolError.initializerFailed(_, _, let message)): message == "no" ? "initializer" : "initializer(\(message))"
        case .error(PoolError.cannotStartWorker): "cannotStart"
        case .error(is CancellationError): "cancelled"
        case .error(FutureError.cancelled): "FutureError.cancelled"
        case .error(let error): "\(error)"
        }
    }
}
