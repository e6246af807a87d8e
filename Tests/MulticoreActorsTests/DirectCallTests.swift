import Distributed
@testable import MulticoreActors
import MulticoreProcessing
import MulticoreSystem
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The name the system gives the calling thread.
private func threadName() -> String {
    (MemoryCgroup.readText("/proc/thread-self/comm") ?? "").split(separator: "\n").first.map(String.init) ?? ""
}

/// `ActorHost.withDirectCalls`: calls answered on the host's reader thread.
@Suite(.timeLimit(.minutes(5)))
struct DirectCallTests {
    @Test func callsInsideAreAnsweredOnTheReaderThreadAndComeBackExact() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let reader = String("mc-actor-host-\(host.number)".prefix(15)) // the system keeps 15 bytes of a name
        let (sum, threads) = try await host.withDirectCalls { () async throws -> (Int, Set<String>) in
            var sum = 0
            var threads: Set<String> = []
            for value in 1...200 {
                sum = try await counter.add(value)
                threads.insert(threadName())
            }
            return (sum, threads)
        }
        #expect(sum == 200 * 201 / 2)
        #expect(threads == [reader], "each caller resumed on the reader thread")
        // A host's call back to an actor of this program is served meanwhile (on the pool).
        let sink = Sink.local()
        let reported = try await host.withDirectCalls { try await counter.report(to: sink, times: 3) }
        #expect(reported == 3)
        #expect(try await sink.count() == 3)
        await host.shutdown()
    }

    @Test func concurrentCallersInsideKeepEachCallersOrder() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let gate = TaskGate(parties: 4)
        let seen = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await gate.arrive()
                    return try await host.withDirectCalls {
                        var totals: [Int] = []
                        for _ in 0..<100 { totals.append(try await counter.add(1)) }
                        return totals
                    }
                }
            }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        // Calls to one actor run one at a time, each caller's in its order.
        for totals in seen { #expect(totals == totals.sorted() && Set(totals).count == 100) }
        #expect(Set(seen.flatMap { $0 }) == Set(1...400))
        #expect(try await counter.total() == 400)
        await host.shutdown()
    }

    @Test func aHostThatDiesInsideFailsItsCallsAndTheBodyGoesOn() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let outcome = try await host.withDirectCalls { () async throws -> String in
            _ = try await counter.add(1)
            kill(host.pid, SIGKILL)
            do {
                _ = try await counter.hold(seconds: 20)
                return "the call outlived its host"
            } catch ActorHostError.hostDied(let death) {
                #expect(death.signal == SIGKILL)
            }
            // The reader is gone: what the body awaits now runs on the cooperative pool.
            try await host.restart()
            let fresh = try await host.spawn(Counter.self)
            return "fresh: \(try await fresh.add(2))"
        }
        #expect(outcome == "fresh: 2")
        await host.shutdown()
    }
}
