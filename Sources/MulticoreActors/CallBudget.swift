import MulticoreThreading

/// How many calls a host's process serves before it is retired (`ActorHost(maxCallsPerHost:)`),
/// as a pool's worker is replaced after `maxTasksPerChild` tasks. A call takes one (or is
/// refused with `ActorHostError.hostRetired` once all are taken), and gives it back answered;
/// once the last is answered, the host is told (`whenSpent`): its process then goes, between
/// calls, none in flight.
final class CallBudget: @unchecked Sendable { // `sent`, `inFlight`, `onSpent` and `retiring` are guarded by `lock`
    let limit: Int
    private let name: String
    private let pid: Int32
    private let lock = Lock()
    private var sent = 0
    private var inFlight = 0
    private var onSpent: (@Sendable () -> Void)?
    private var retiring = false

    init(limit: Int, name: String, pid: Int32) {
        self.limit = limit
        self.name = name
        self.pid = pid
    }

    /// What a call on one of the host's actors throws once the budget is spent.
    var retired: ActorHostError { .hostRetired(name: name, pid: pid, calls: limit) }

    /// Takes one call.
    /// - Throws: `ActorHostError.hostRetired` once all are taken.
    func take() throws {
        try lock.briefly {
            guard sent < limit else { throw retired }
            sent += 1
            inFlight += 1
        }
    }

    /// Gives back a call taken, answered (or failed, or cancelled); the last one answered tells the host.
    func done() {
        let spent = lock.briefly { () -> (@Sendable () -> Void)? in
            inFlight -= 1
            guard sent == limit, inFlight == 0, !retiring else { return nil }
            retiring = true
            return onSpent
        }
        spent?()
    }

    /// Calls `body` once the budget is spent and every call answered.
    func whenSpent(_ body: @escaping @Sendable () -> Void) {
        lock.briefly { onSpent = body }
    }

    /// Whether the host's process is being retired for its budget: the reason its link ends.
    var isRetiring: Bool { lock.briefly { retiring } }
}
