import Distributed
@testable import MulticoreActors
import MulticoreTestSupport
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

enum CounterError: Error, Codable, Equatable {
    case negative(Int)
}

struct PlainError: Error, CustomStringConvertible {
    var description: String { "not codable" }
}

/// The actor the tests host: state, a Codable error, a plain error, a long call, crashes.
distributed actor Counter: HostedActor {
    var value = 0
    var cancelled = false

    distributed func add(_ amount: Int) throws -> Int {
        guard amount >= 0 else { throw CounterError.negative(amount) }
        value += amount
        return value
    }

    distributed func total() -> Int { value }

    distributed func processID() -> Int32 { getpid() }

    distributed func failPlainly() throws { throw PlainError() }

    distributed func echo<T: Codable & Sendable>(_ value: T) -> T { value }

    /// Sleeps up to `seconds`; records whether its task was cancelled.
    distributed func hold(seconds: Int) async -> Bool {
        do {
            try await Task.sleep(for: .seconds(seconds))
            return false
        } catch {
            cancelled = true
            return true
        }
    }

    distributed func wasCancelled() -> Bool { cancelled }

    /// Ends this process: "trap", "kill" (SIGKILL to itself) or "exit" (status 3).
    distributed func crash(_ how: String) {
        switch how {
        case "trap": fatalError("the test asked for a trap")
        case "kill": kill(getpid(), SIGKILL)
        default: exit(3)
        }
    }

    /// Calls `sink` back in the program, `times` times, and returns what it last said.
    distributed func report(to sink: Sink, times: Int) async throws -> Int {
        var last = 0
        for _ in 0..<times { last = try await sink.note(value) }
        return last
    }

    /// Adds `amount` through another actor (another host's, reached through the program).
    distributed func addThrough(_ other: Counter, amount: Int) async throws -> Int {
        try await other.add(amount)
    }

    /// A new actor made here, returned to the caller.
    distributed func makeCounter() -> Counter {
        Counter(actorSystem: actorSystem)
    }

    /// How many actors this process keeps alive until released.
    distributed func keptActors() -> Int { actorSystem.keptCount }

    /// How many descriptors this process has open.
    distributed func openDescriptors() -> Int { openDescriptorCount() }
}

/// An actor created with a value.
distributed actor Account: HostedActorWithArgument {
    typealias Argument = Opening
    var balance: Int
    let owner: String

    struct Opening: Codable, Sendable {
        var owner: String
        var balance: Int
    }

    init(argument: Opening, actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
        owner = argument.owner
        balance = argument.balance
    }

    distributed func deposit(_ amount: Int) -> String {
        balance += amount
        return "\(owner): \(balance)"
    }
}

/// An actor of the program, called back from hosts.
distributed actor Sink: HostedActor {
    var notes: [Int] = []

    distributed func note(_ value: Int) -> Int {
        notes.append(value)
        return notes.count
    }

    distributed func count() -> Int { notes.count }
}

extension Sink {
    /// A sink of this program. Made here: Swift 6.3 can reject a distributed actor's implicit
    /// initializer called from another file ("'nonisolated' on an actor's synchronous
    /// initializer is invalid"), depending on how the files are batched into compiler jobs.
    static func local() -> Sink { Sink(actorSystem: .shared) }
}

/// A start gate for tasks: each `arrive` returns once `parties` tasks have arrived.
final class TaskGate: Sendable {
    private let parties: Int
    private let state = Locked<(arrived: Int, waiting: [CheckedContinuation<Void, Never>])>((0, []))

    init(parties: Int) { self.parties = parties }

    func arrive() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open: [CheckedContinuation<Void, Never>] = state.withLock { state in
                state.arrived += 1
                state.waiting.append(continuation)
                guard state.arrived == parties else { return [] }
                defer { state.waiting = [] }
                return state.waiting
            }
            for waiter in open { waiter.resume() }
        }
    }
}
