import Distributed
@testable import MulticoreActors
import MulticoreProcessing
import MulticoreTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.timeLimit(.minutes(5)))
struct ActorHostTests {
    @Test(arguments: [StartMethod.spawn, .forkserver])
    func spawnsActorsInTheHostAndCallsThem(startMethod: StartMethod) async throws {
        let host = try await ActorHost(startMethod: startMethod)
        #expect(host.startMethod == startMethod)
        let counter = try await host.spawn(Counter.self)
        #expect(try await counter.add(5) == 5)
        #expect(try await counter.add(2) == 7)
        let hostPID = try await counter.processID()
        #expect(hostPID == host.pid)
        #expect(hostPID != getpid())
        // A second actor of the same host has its own state.
        let other = try await host.spawn(Counter.self)
        #expect(try await other.add(1) == 1)
        #expect(try await counter.total() == 7)
        #expect(try await other.processID() == hostPID)
        await host.shutdown()
    }

    @Test func forkCannotStartAHost() async {
        do {
            _ = try await ActorHost(startMethod: .fork)
            Issue.record("a host was started by fork")
        } catch ActorHostError.forkCannotStartHost {
        } catch {
            Issue.record("unexpected error: \(error)")
        }
    }

    @Test func createsAnActorWithAnArgument() async throws {
        let host = try await ActorHost()
        let account = try await host.spawn(Account.self, argument: .init(owner: "ada", balance: 100))
        #expect(try await account.deposit(5) == "ada: 105")
        await host.shutdown()
    }

    @Test func severalHostsAreSeparateProcesses() async throws {
        let first = try await ActorHost()
        let second = try await ActorHost()
        let a = try await first.spawn(Counter.self)
        let b = try await second.spawn(Counter.self)
        #expect(try await a.processID() != b.processID())
        #expect(try await a.add(3) == 3)
        #expect(try await b.add(4) == 4)
        #expect(first.number != second.number)
        await first.shutdown()
        await second.shutdown()
    }

    @Test func errorsComeBackTyped() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        await #expect(throws: CounterError.negative(-3)) { try await counter.add(-3) }
        do {
            try await counter.failPlainly()
            Issue.record("failPlainly returned")
        } catch let error as RemoteCallError {
            #expect(error.message == "not codable")
            #expect(error.typeName.hasSuffix("PlainError"))
        }
        // The actor is still there, its state untouched by the failed calls.
        #expect(try await counter.add(1) == 1)
        await host.shutdown()
    }

    @Test func genericFuncsTakeAnyCodableType() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        #expect(try await counter.echo(42) == 42)
        #expect(try await counter.echo(["a", nil, "c"]) == ["a", nil, "c"])
        #expect(try await counter.echo(Account.Opening(owner: "x", balance: 1)).owner == "x")
        await host.shutdown()
    }

    /// Concurrent callers on one actor: its calls run one at a time (the total is exact), and
    /// each caller's calls run in its order (the totals it sees only grow).
    @Test func callsRunOneAtATimeInEachCallersOrder() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let callers = 8, calls = 50
        let seen = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var totals: [Int] = []
                    for _ in 0..<calls { totals.append(try await counter.add(1)) }
                    return totals
                }
            }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        #expect(try await counter.total() == callers * calls)
        for totals in seen { #expect(totals == totals.sorted() && Set(totals).count == calls) }
        // Every total from 1 to the end was seen once: no two calls ran at once.
        #expect(seen.flatMap { $0 }.sorted() == Array(1...(callers * calls)))
        await host.shutdown()
    }

    @Test func aReleasedActorIsGone() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let probe = try await host.spawn(Counter.self)
        #expect(try await probe.keptActors() == 2)
        try await counter.release()
        #expect(try await probe.keptActors() == 1)
        await #expect(throws: HostedActorError.actorNotFound(counter.id)) { try await counter.add(1) }
        await #expect(throws: HostedActorError.actorNotFound(counter.id)) { try await counter.release() }
        await host.shutdown()
    }

    @Test func callsAfterShutdownThrow() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let pid = host.pid
        await host.shutdown()
        do {
            _ = try await counter.add(1)
            Issue.record("a call after shutdown returned")
        } catch ActorHostError.hostShutDown(let name, let shutPID) {
            #expect(name == host.name)
            #expect(shutPID == pid)
        }
        await host.shutdown() // again: nothing happens
    }
}
