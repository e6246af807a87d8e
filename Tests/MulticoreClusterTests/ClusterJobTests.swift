#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import Testing

/// Durable jobs: `enqueue` with a key, a priority and a start time; their outcomes awaited and
/// fetched from another handle (its own connections and session), cancelled, deleted.
extension ClusterTests {
    @Test func aJobsOutcomeIsFetchedFromAnotherHandleAndItsKeyMakesEnqueueIdempotent() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_jobs"
        let submitter = try await Cluster(url: url, schema: schema)
        let other = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)

        // No node yet: the job stays queued, and the same key gives the same job, from either handle.
        let job = try await submitter.enqueue(Twice(value: 21), key: "invoice-7")
        #expect(try await submitter.enqueue(Twice(value: 99), key: "invoice-7") == job)
        #expect(try await other.enqueue(Twice(value: 98), key: "invoice-7") == job)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks WHERE key = 'invoice-7'") == 1)
        guard case .queued(attempt: 0) = try await other.status(of: job) else {
            Issue.record("the job is not queued: \(try await other.status(of: job))")
            return
        }
        // A job outlives the handle that enqueued it.
        let failing = try await submitter.enqueue(TrapWhenTold(value: 1, trap: true))
        await submitter.shutdown()

        let (_, nodeRun) = try startNode(url, schema: schema)
        let byID = ClusterJob<Int>(id: job.id)
        #expect(try await within { try await other.value(of: byID) } == 42)
        guard case .finished(.success(42)) = try await other.status(of: job) else {
            Issue.record("the job's status is \(try await other.status(of: job))")
            return
        }
        let failure = await errorOf { try await other.value(of: failing) }
        guard case .taskFailed(_, let message, _, _, 1)? = failure as? ClusterError else {
            Issue.record("the trapping job ended with \(String(describing: failure))")
            return
        }
        #expect(message.contains("deliberate trap"), "\(message)")

        // Finished, its key is free again: a new job.
        let again = try await other.enqueue(Twice(value: 5), key: "invoice-7")
        #expect(again != job)
        #expect(try await within { try await other.value(of: again) } == 10)

        // Deleted, it is gone.
        #expect(try await other.delete(job))
        #expect(try await !other.delete(job))
        await #expect(throws: ClusterError.unknownJob(job.id)) { try await other.status(of: job) }
        await #expect(throws: ClusterError.unknownJob(job.id)) { try await within { try await other.value(of: job) } }
        await other.shutdown()
        try await stop(nodeRun)
    }

    /// A job's outcome fetched later from another process: this one enqueues two jobs with keys
    /// and lets its handle go; once a node ran them, a process of its own (ClusterJobReader)
    /// fetches their outcomes by id alone: the value of one, the failure of the other.
    @Test func aJobsOutcomeIsFetchedLaterFromAnotherProcess() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_jobprocess"
        let submitter = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let doubled = try await submitter.enqueue(Twice(value: 21), key: "report-1")
        let trapped = try await submitter.enqueue(TrapWhenTold(value: 2, trap: true), key: "report-2")
        await submitter.shutdown()

        let (_, nodeRun) = try startNode(url, schema: schema)
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks WHERE state >= 2", toBe: 2))
        try await stop(nodeRun)

        let reader = try ProgramRun(beside: "ClusterJobReader", [url, schema, "\(doubled.id)", "\(trapped.id)"])
        #expect(reader.wait(within: testDeadline) == 0, "\(reader.output)")
        let lines = reader.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "job \(doubled.id): 42", "\(reader.output)")
        #expect(lines.count == 2 && lines[1].hasPrefix("job \(trapped.id) failed: ") && lines[1].contains("deliberate trap"),
                "\(reader.output)")
        // An id the queue does not know is an error, not an outcome.
        let unknown = try ProgramRun(beside: "ClusterJobReader", [url, schema, "\(trapped.id + 1000)"])
        #expect(unknown.wait(within: testDeadline) == 1, "\(unknown.output)")
    }

    /// Jobs enqueued while no node runs are claimed by priority (smaller first), one at a time
    /// by a node of one process holding one task.
    @Test func jobsAreClaimedInPriorityOrder() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_priority"
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let priorities = [5, -3, 2, 0, 9, -1, 4, 1]
        var jobs: [ClusterJob<Int>] = []
        for (index, priority) in priorities.enumerated() {
            jobs.append(try await cluster.enqueue(Twice(value: index), priority: priority))
        }
        await #expect(throws: ClusterError.self) { try await cluster.enqueue(Twice(value: 0), priority: 40_000) }

        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1, tasksPerProcess: 1)
        for (index, job) in jobs.enumerated() { #expect(try await within { try await cluster.value(of: job) } == index * 2) }
        // Claimed one after the other: in claim order, no priority is larger than the next one's.
        #expect(try await inspector.int("""
            SELECT count(*) FROM (SELECT priority, lag(priority) OVER (ORDER BY claimed_at) AS before FROM $schema.tasks) claims
             WHERE before > priority
            """) == 0)
        #expect(try await inspector.int("SELECT count(DISTINCT claimed_at) FROM $schema.tasks") == Int64(priorities.count))
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// A job's start time is the database's: a job an hour ahead is never claimed while a
    /// running node claims later ones; once the database's clock says it is due (its row moved
    /// to now), it runs.
    @Test func aDelayedJobWaitsForTheDatabasesClock() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_runat"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)

        let later = try await cluster.enqueue(Twice(value: 3), runAt: .after(.seconds(3600)))
        let atDate = try await cluster.enqueue(Twice(value: 4), runAt: .at(Date().addingTimeInterval(3600)))
        let now = try await cluster.enqueue(Twice(value: 5))
        #expect(try await within { try await cluster.value(of: now) } == 10)
        // Two of the node's polls later the delayed ones are still queued, never attempted.
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await inspector.int(
            "SELECT count(*) FROM $schema.tasks WHERE state = 0 AND attempt = 0 AND run_at > now() + interval '59 minutes'") == 2)
        guard case .queued(attempt: 0) = try await cluster.status(of: later) else {
            Issue.record("the delayed job is \(try await cluster.status(of: later))")
            return
        }
        #expect(try await inspector.int("UPDATE $schema.tasks SET run_at = now() WHERE id IN (\(later.id), \(atDate.id)) RETURNING 1") == 1)
        #expect(try await within { try await cluster.value(of: later) } == 6)
        #expect(try await within { try await cluster.value(of: atDate) } == 8)
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// A running job cancelled: its node stops it (its worker is killed), its outcome is
    /// `cancelled`, and its key is free again. A finished job cannot be cancelled.
    @Test func aCancelledJobIsStoppedOnItsNode() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_jobcancel"
        let gates = try GateFolder()
        let (node, nodeRun) = try startNode(url, schema: schema, processes: 1)
        let cluster = try await Cluster(url: url, schema: schema)
        let job = try await cluster.enqueue(WaitForGate(directory: gates.path, value: 1), key: "gated")
        #expect(await eventually { node.runningTasks == 1 })
        #expect(try await cluster.cancel(job))
        #expect(await eventually { node.runningTasks == 0 })
        await #expect(throws: ClusterError.cancelled) { try await within { try await cluster.value(of: job) } }
        let again = try await cluster.enqueue(Twice(value: 2), key: "gated")
        #expect(again.id != job.id)
        #expect(try await within { try await cluster.value(of: again) } == 4)
        #expect(try await !cluster.cancel(again))
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}

/// A temporary folder for `WaitForGate`'s gates, removed when dropped.
final class GateFolder: Sendable {
    let path = NSTemporaryDirectory() + "multicore-gates-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Lets the `WaitForGate` tasks of the node process `node` return.
    func open(for node: Int32) -> Bool { FileManager.default.createFile(atPath: WaitForGate.gate(in: path, node: node), contents: nil) }
}

/// The error `body` throws within `testDeadline`, or nil when it returns.
func errorOf<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> (any Error)? {
    do {
        _ = try await within(testDeadline, "the operation", body)
        return nil
    } catch {
        return error
    }
}
