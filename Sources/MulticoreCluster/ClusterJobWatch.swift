import Logging
import MulticoreThreading
import PostgresNIO

/// The durable jobs a `Cluster` handle waits for (`Cluster.value(of:)`), from any process: one
/// loop reads the rows of every job waited for, when the handle's notification rings (jobs it
/// enqueued itself) and every `pollInterval` (jobs of other processes: polling is the truth).
final class ClusterJobWatch: Sendable {
    typealias Waiter = @Sendable (Result<DeliveredOutcome, any Error>) -> Void

    private struct State {
        var waiters: [Int64: [Int: Waiter]] = [:]
        var nextTicket = 0
        var closed = false
    }

    let doorbell = Doorbell()
    private let state = Locked(State())

    /// The job's row once it is finished. Cancelling the waiting task stops the wait only.
    /// - Throws: `ClusterError.unknownJob` when there is no such job, `.shutDown` when the
    ///   handle stops first; `CancellationError`.
    func finished(_ id: Int64) async throws -> DeliveredOutcome {
        let ticket = state.withLock { state -> Int in
            state.nextTicket += 1
            return state.nextTicket
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DeliveredOutcome, any Error>) in
                let added = state.withLock { state -> Bool in
                    guard !state.closed else { return false }
                    state.waiters[id, default: [:]][ticket] = { continuation.resume(with: $0) }
                    return true
                }
                if added {
                    doorbell.ring()
                    if Task.isCancelled { drop(id, ticket) }
                } else {
                    continuation.resume(throwing: ClusterError.shutDown)
                }
            }
        } onCancel: {
            drop(id, ticket)
        }
    }

    private func drop(_ id: Int64, _ ticket: Int) {
        let waiter = state.withLock { state -> Waiter? in
            let waiter = state.waiters[id]?.removeValue(forKey: ticket)
            if state.waiters[id]?.isEmpty == true { state.waiters[id] = nil }
            return waiter
        }
        waiter?(.failure(CancellationError()))
    }

    /// Fails every wait with `ClusterError.shutDown`.
    func close() {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.flatMap(\.values)
        }
        for waiter in waiters { waiter(.failure(ClusterError.shutDown)) }
    }

    /// Reads the jobs waited for until cancelled.
    func run(_ client: PostgresClient, _ statements: ClusterStatements, pollInterval: Duration, logger: Logger) async {
        var backoff = ClusterBackoff()
        while !Task.isCancelled {
            await doorbell.wait(upTo: pollInterval)
            let ids = state.withLock { Array($0.waiters.keys) }
            guard !ids.isEmpty else { continue }
            do {
                let rows = try await statements.jobs(client, ids: ids)
                backoff.reset()
                let found = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                for id in ids {
                    if let row = found[id] {
                        if row.state >= TaskOutcome.succeeded { resume(id, with: .success(row)) }
                    } else {
                        resume(id, with: .failure(ClusterError.unknownJob(id)))
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.notice("cluster submitter cannot read its jobs: \(error)")
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    private func resume(_ id: Int64, with outcome: Result<DeliveredOutcome, any Error>) {
        let waiters = state.withLock { $0.waiters.removeValue(forKey: id).map { Array($0.values) } ?? [] }
        for waiter in waiters { waiter(outcome) }
    }
}
