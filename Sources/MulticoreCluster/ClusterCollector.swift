import struct Foundation.UUID
import Logging
import MulticoreProcessing
import MulticoreThreading
import PostgresNIO

/// A submitter's side of the outcomes: the futures not yet done, by sequence number, and the loop
/// that reads finished rows of its session when a notification rings, and every `pollInterval`
/// while anything is pending (polling is the truth: a notification can be lost with its
/// connection). Each read deletes the rows the previous one delivered: a reply lost with its
/// connection loses no outcome.
final class ClusterCollector: Sendable {
    typealias Deliver = @Sendable (Result<DeliveredOutcome, ClusterError>) -> Void

    private struct State {
        var pending: [Int64: Deliver] = [:]
        var nextSeq: Int64 = 0
        var closed = false
    }

    let doorbell = Doorbell()
    private let state = Locked(State())

    /// Sequence numbers for `delivers.count` new tasks, registered before their rows exist.
    /// - Throws: `ClusterError.shutDown` once closed.
    func reserve(_ delivers: [Deliver]) throws -> [Int64] {
        try state.withLock { state in
            guard !state.closed else { throw ClusterError.shutDown }
            let first = state.nextSeq
            state.nextSeq += Int64(delivers.count)
            for (offset, deliver) in delivers.enumerated() { state.pending[first + Int64(offset)] = deliver }
            return Array(first..<state.nextSeq)
        }
    }

    /// A sequence number for a durable job: numbered among the session's tasks, delivered by
    /// the job watch rather than by this collector.
    func reserveJob() throws -> Int64 {
        try state.withLock { state in
            guard !state.closed else { throw ClusterError.shutDown }
            defer { state.nextSeq += 1 }
            return state.nextSeq
        }
    }

    /// Forgets the future of `seq` (it was cancelled: its row is withdrawn).
    func drop(_ seq: Int64) { _ = state.withLock { $0.pending.removeValue(forKey: seq) } }

    /// Fails the futures of `seqs` (their rows could not be inserted).
    func fail(_ seqs: [Int64], with error: ClusterError) {
        let delivers = state.withLock { state in seqs.compactMap { state.pending.removeValue(forKey: $0) } }
        for deliver in delivers { deliver(.failure(error)) }
    }

    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Stops taking tasks and fails every future still pending with `ClusterError.shutDown`.
    func close() {
        let delivers = state.withLock { state -> [Deliver] in
            state.closed = true
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for deliver in delivers { deliver(.failure(.shutDown)) }
    }

    /// Drains until cancelled.
    func run(_ client: PostgresClient, _ statements: ClusterStatements, session: UUID, pollInterval: Duration, logger: Logger) async {
        var backoff = ClusterBackoff()
        // Rows delivered, deleted by the next read.
        var acknowledged: [Int64] = []
        while !Task.isCancelled {
            await doorbell.wait(upTo: pollInterval)
            guard pendingCount > 0 || !acknowledged.isEmpty else { continue }
            do {
                var drained: [DeliveredOutcome]
                repeat {
                    drained = try await statements.drain(client, session: session, acknowledged: acknowledged, limit: 1000)
                    acknowledged = drained.map(\.id)
                    deliver(drained)
                } while drained.count == 1000
                backoff.reset()
            } catch {
                if Task.isCancelled { return }
                logger.notice("cluster submitter cannot take outcomes: \(error)")
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    private func deliver(_ outcomes: [DeliveredOutcome]) {
        let delivers = state.withLock { state in
            outcomes.map { outcome in (state.pending.removeValue(forKey: outcome.seq), outcome) }
        }
        for case (let deliver?, let outcome) in delivers { deliver(.success(outcome)) }
    }

    /// What finishes `future` with a delivered outcome: the decoded output, or the task's error.
    static func deliver<Output: Codable & Sendable>(to future: Future<Output>, task: String) -> Deliver {
        { outcome in
            switch outcome {
            case .failure(let error):
                try? future.finish(.failure(error), by: nil)
            case .success(let row):
                try? future.finish(row.outcome(as: Output.self, task: task).mapError { $0 as any Error }, by: row.worker)
            }
        }
    }
}
