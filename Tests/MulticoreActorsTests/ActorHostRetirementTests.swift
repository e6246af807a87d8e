@testable import MulticoreActors
import MulticoreTestSupport
import Testing

/// A host with `maxCallsPerHost`: its process is replaced between calls after that many.
@Suite(.timeLimit(.minutes(5)))
struct ActorHostRetirementTests {
    /// The call that `body` is refused with, or a recorded issue.
    private func retirement(_ body: () async throws -> Void) async -> (name: String, pid: Int32, calls: Int)? {
        do {
            try await body()
            Issue.record("the call returned")
        } catch ActorHostError.hostRetired(let name, let pid, let calls) {
            return (name, pid, calls)
        } catch {
            Issue.record("unexpected error: \(error)")
        }
        return nil
    }

    @Test func aHostIsReplacedAfterItsCalls() async throws {
        let host = try await ActorHost(maxCallsPerHost: 5)
        #expect(host.maxCallsPerHost == 5)
        let counter = try await host.spawn(Counter.self)
        let firstPID = host.pid
        for call in 1...5 { #expect(try await counter.add(1) == call) }
        let refused = await retirement { _ = try await counter.add(1) }
        #expect(refused?.pid == firstPID)
        #expect(refused?.calls == 5)
        #expect(refused?.name == host.name)
        #expect(ActorHostError.hostRetired(name: host.name, pid: firstPID, calls: 5).description.contains("maxCallsPerHost"))
        // A fresh process takes its place, and the old one exits.
        #expect(await eventually { host.pid != firstPID })
        #expect(await eventually { processIsGone(firstPID) })
        let fresh = try await host.spawn(Counter.self)
        #expect(try await fresh.add(1) == 1) // no state carried over
        #expect(try await fresh.processID() == host.pid)
        // The old actor's calls keep throwing why it went.
        #expect(await retirement { _ = try await counter.add(1) }?.pid == firstPID)
        await host.shutdown()
    }

    /// Callers at once on a host of 20 calls: exactly 20 calls are served (each total once: the
    /// ones in flight when the limit was reached were answered, not cut off), every other throws
    /// `hostRetired`.
    @Test func theCallsInFlightAreAnsweredBeforeTheHostGoes() async throws {
        let host = try await ActorHost(maxCallsPerHost: 20)
        let counter = try await host.spawn(Counter.self)
        let firstPID = host.pid
        let served = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var totals: [Int] = []
                    while true {
                        do {
                            totals.append(try await counter.add(1))
                        } catch ActorHostError.hostRetired {
                            return totals
                        }
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(served.sorted() == Array(1...20))
        #expect(await eventually { host.pid != firstPID && processIsGone(firstPID) })
        await host.shutdown()
    }

    @Test func aLimitBelowOneIsRefused() async {
        do {
            _ = try await ActorHost(maxCallsPerHost: 0)
            Issue.record("a host with no calls started")
        } catch ActorHostError.maxCallsNotPositive(let calls) {
            #expect(calls == 0)
        } catch {
            Issue.record("unexpected error: \(error)")
        }
    }
}
