#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import Testing

/// Errors a task throws are its outcome at once, unless its type asks for retries
/// (`ClusterRetryingTask`).
extension ClusterTests {
    @Test func aTasksErrorsAreRetriedOnlyWhenItsTypeAsks() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_retry"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let (retried, plain, exhausted) = (try GateFolder(), try GateFolder(), try GateFolder())
        let runs = { (folder: GateFolder) in (try? FileManager.default.contentsOfDirectory(atPath: folder.path).count) ?? -1 }

        // Asks for 2 retries, fails twice: its third attempt is its outcome.
        let recovers = try await cluster.enqueue(FlakyRetried(directory: retried.path, failures: 2, value: 21))
        #expect(try await within { try await cluster.value(of: recovers) } == 42)
        #expect(try await inspector.int("SELECT attempt::bigint FROM $schema.tasks WHERE id = \(recovers.id)") == 3)
        #expect(runs(retried) == 3)

        // Does not ask: its first error is its outcome, at attempt 1.
        let fails = try await cluster.enqueue(Flaky(directory: plain.path, failures: 2, value: 21))
        let failure = await errorOf { try await cluster.value(of: fails) }
        guard case .taskFailed(let type, let message, _, _, 1)? = failure as? ClusterError else {
            Issue.record("the task that does not ask for retries ended with \(String(describing: failure))")
            return
        }
        #expect(type.hasSuffix("FlakyFailure") && message == "flaky failure at run 1", "\(type): \(message)")
        #expect(runs(plain) == 1)

        // Asks for 2 retries and fails more often: its third error is its outcome.
        let gives = try await cluster.enqueue(FlakyRetried(directory: exhausted.path, failures: 5, value: 21))
        let last = await errorOf { try await cluster.value(of: gives) }
        guard case .taskFailed(_, let lastMessage, _, _, 3)? = last as? ClusterError else {
            Issue.record("the task that keeps failing ended with \(String(describing: last))")
            return
        }
        #expect(lastMessage == "flaky failure at run 3")
        #expect(runs(exhausted) == 3)

        // Several at once (a node that measured its tasks runs those it claims together as a
        // batch): each task's error is retried alone, the others keep their outcomes.
        let folders = try (0..<6).map { _ in try GateFolder() }
        let batch = try await cluster.submit(contentsOf: folders.enumerated().map { index, folder in
            FlakyRetried(directory: folder.path, failures: index % 2, value: index)
        })
        for (index, future) in batch.enumerated() { #expect(try await within { try await future.value } == index * 2) }
        #expect(folders.map(runs) == (0..<6).map { 1 + $0 % 2 })
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}
