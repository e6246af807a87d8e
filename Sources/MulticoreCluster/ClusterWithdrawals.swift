import struct Foundation.UUID
import Logging
import MulticoreThreading
import PostgresNIO

/// The tasks a `Cluster` handle's futures gave up (cancelled): withdrawn from the queue in
/// batches by one loop, so that cancelling a map of many tasks is one statement.
final class ClusterWithdrawals: Sendable {
    let doorbell = Doorbell()
    private let seqs = Locked<[Int64]>([])

    func add(_ seq: Int64) {
        seqs.withLock { $0.append(seq) }
        doorbell.ring()
    }

    /// Withdraws until cancelled; a batch whose statement failed is tried again.
    func run(_ client: PostgresClient, _ statements: ClusterStatements, session: UUID, logger: Logger) async {
        var backoff = ClusterBackoff()
        while !Task.isCancelled {
            await doorbell.wait(upTo: .seconds(1))
            let batch = seqs.withLock { seqs in
                defer { seqs.removeAll() }
                return seqs
            }
            guard !batch.isEmpty else { continue }
            do {
                try await statements.withdraw(client, session: session, seqs: batch)
                backoff.reset()
            } catch {
                if Task.isCancelled { return }
                logger.notice("cluster submitter cannot withdraw cancelled tasks: \(error)")
                seqs.withLock { $0.insert(contentsOf: batch, at: 0) }
                doorbell.ring()
                try? await Task.sleep(for: backoff.next())
            }
        }
    }
}
