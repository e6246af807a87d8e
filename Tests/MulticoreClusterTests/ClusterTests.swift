#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreProcessing
import MulticoreThreading
import MulticoreTestSupport
import Testing

/// A node in this process, serving the test task types, with short intervals; stopped by
/// cancelling its task.
func startNode(_ url: String, schema: String, processes: Int = 2, tasks: [any ProcessTask.Type] = clusterTestTaskTypes,
               tasksPerProcess: Int = 16, maxTasksPerChild: Int? = nil, heartbeat: Duration = .milliseconds(200),
               deadAfter: Duration = .seconds(1)) throws -> (ClusterNode, Task<Void, any Error>) {
    let node = try ClusterNode(url: url, schema: schema, processes: processes, tasks: tasks, maxTasksPerChild: maxTasksPerChild,
                               heartbeat: heartbeat,
                               deadAfter: deadAfter, pollInterval: .milliseconds(200), tasksPerProcess: tasksPerProcess)
    return (node, Task { try await node.run() })
}

/// The outcome of `future`, waited for at most `testDeadline`.
func outcomeOf<Value: Sendable>(_ future: Future<Value>) async -> Result<Value, any Error> {
    do {
        return .success(try await within { try await future.value })
    } catch {
        return .failure(error)
    }
}

/// Stops an in-process node and waits (bounded) for its `run` to return.
func stop(_ node: Task<Void, any Error>) async throws {
    node.cancel()
    _ = try await within(testDeadline, "the node's run after cancel") { try? await node.value }
}

/// The cluster against a real PostgreSQL server (Scripts/postgres-server.sh), each test in a
/// schema of its own. Serialized: each test starts nodes with worker processes, on 2 CPUs.
/// Whether a server can be had is found out on a thread aside: installing and starting it takes
/// seconds (a minute and more under ThreadSanitizer on a loaded machine), and a condition
/// evaluated on the cooperative pool held one of its 2 threads for all that time, which starved
/// the tests of other suites running meanwhile past their deadlines.
@Suite(.serialized, .timeLimit(.minutes(5)),
       .enabled("needs a PostgreSQL server: Scripts/postgres-server.sh install (as root) installs one") {
           try await aside { ThrowawayPostgres.available }
       })
struct ClusterTests {
    @Test func submitAndMapReturnTheOutputsAndDeleteTheDeliveredRows() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_roundtrip"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)

        let one = try await cluster.submit(Twice(value: 21))
        #expect(try await within { try await one.value } == 42)
        #expect(one.worker?.name.hasPrefix("ClusterNode@") == true)

        // More than a batch of rows, so the inserts go in two statements.
        let inputs = (0..<1500).map { Twice(value: $0) }
        let doubled = try await within { try await cluster.map(inputs) }
        #expect(doubled == inputs.map { $0.value * 2 })

        // Delivered rows are deleted (the last read's by the next one, within a poll).
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        await cluster.shutdown()
        try await stop(nodeRun)
        // A node that stops removes itself.
        #expect(try await inspector.int("SELECT count(*) FROM $schema.nodes") == 0)
    }

    @Test func aTaskThatTrapsFailsAloneWithItsWorkersSignal() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_trap"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema)

        let futures = try await cluster.submit(contentsOf: (0..<8).map { TrapWhenTold(value: $0, trap: $0 == 3) })
        for (index, future) in futures.enumerated() {
            let outcome = await outcomeOf(future)
            if index == 3 {
                guard case .failure(ClusterError.taskFailed(let type, let message, let host, let pid, let attempt)) = outcome else {
                    Issue.record("the trapping task ended with \(outcome)")
                    continue
                }
                #expect(type.hasSuffix("PoolError"), "\(type)")
                // Named with its node's host and pid, and its worker's pid and signal.
                #expect(message.contains("trapped (SIG") && message.contains("(pid ")
                        && message.contains("deliberate trap in TrapWhenTold(3)"), "\(message)")
                #expect(host == ProcessInfo.processInfo.hostName && pid == getpid() && attempt == 1, "\(host)")
            } else {
                #expect(try outcome.get() == index * 2)
            }
        }
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    @Test func aNodeClaimsOnlyTheTaskTypesItKnows() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_kinds"
        let (_, twiceOnly) = try startNode(url, schema: schema, processes: 1, tasks: [Twice.self])
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)

        let unknown = try await cluster.submit(TrapWhenTold(value: 5, trap: false))
        let known = try await cluster.submit(Twice(value: 4))
        #expect(try await within { try await known.value } == 8)
        // Two of the node's polls later the other task is still ready and was never attempted.
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks WHERE state = 0 AND attempt = 0") == 1)
        #expect(!unknown.isDone)

        let (_, both) = try startNode(url, schema: schema, processes: 1)
        #expect(try await within { try await unknown.value } == 10)
        await cluster.shutdown()
        try await stop(twiceOnly)
        try await stop(both)
    }

    @Test func concurrentStartsMigrateTheSchemaOnce() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_migrate"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let cluster = try await Cluster(url: url, schema: schema)
                    await cluster.shutdown()
                }
            }
            try await group.waitForAll()
        }
        let inspector = try QueueInspector(url: url, schema: schema)
        // Each version once: 1 (tasks and nodes), 2 (durable jobs, failures), 3 (the key's index).
        #expect(try await inspector.int("SELECT count(*) FROM $schema.migrations") == 3)
        #expect(try await inspector.int("SELECT max(version)::bigint FROM $schema.migrations") == 3)
    }

    /// A node process is stopped (SIGSTOP) while it runs a task: past `deadAfter` the node in this
    /// process requeues the task and runs it again; the stopped node, continued, finishes its
    /// attempt first, and its outcome is refused; the submitter gets exactly one outcome, from
    /// the node in this process.
    @Test func aStoppedNodesTaskIsRescuedAndItsLateOutcomeRefused() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_rescue"
        let gates = NSTemporaryDirectory() + "multicore-gates-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: gates) }
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)

        let stopped = try ProgramRun(beside: "ClusterNodeExample", [url, schema, "1", "200", "1000"])
        defer {
            stopped.signal(SIGCONT)
            stopped.signalGroup(SIGKILL)
            _ = stopped.wait(within: testDeadline)
        }
        let future = try await cluster.submit(WaitForGate(directory: gates, value: 21))
        // The other node claims it (attempt 1) and its worker waits at its gate.
        let claimed = try await inspector.waitFor(
            "SELECT count(*) FROM $schema.tasks t JOIN $schema.nodes n ON n.id = t.owner WHERE t.state = 1 AND t.attempt = 1 AND n.pid = \(stopped.pid)",
            toBe: 1)
        #expect(claimed, "\(stopped.output)")
        stopped.signal(SIGSTOP)

        // This node rescues it once the stopped one is a second late, and runs attempt 2.
        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1)
        let rescued = try await inspector.waitFor(
            "SELECT count(*) FROM $schema.tasks t JOIN $schema.nodes n ON n.id = t.owner WHERE t.state = 1 AND t.attempt = 2 AND n.pid = \(getpid())",
            toBe: 1)
        #expect(rescued)

        // The stopped node goes on and its attempt finishes first: refused when it records it,
        // or stopped before that, when its check of its running tasks (at its first heartbeat)
        // comes first and finds the task no longer its own. Either way it is not an outcome.
        #expect(FileManager.default.createFile(atPath: WaitForGate.gate(in: gates, node: stopped.pid), contents: nil))
        stopped.signal(SIGCONT)
        #expect(await eventually { stopped.output.contains("outcome refused") || stopped.output.contains("no longer its own") },
                "\(stopped.output)")
        #expect(!future.isDone)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks WHERE state = 1 AND attempt = 2") == 1)
        // It finds it was declared dead and joins again, under a new incarnation.
        #expect(await eventually { stopped.output.contains("joining again") }, "\(stopped.output)")
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.nodes WHERE pid = \(stopped.pid)", toBe: 1))

        // This node's attempt is the one outcome.
        #expect(FileManager.default.createFile(atPath: WaitForGate.gate(in: gates, node: getpid()), contents: nil))
        let output = try await within { try await future.value }
        #expect(output == GateOutput(doubled: 42, node: getpid()))
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// A node process is SIGKILLed (its worker dies with it) while it runs a task: the node in
    /// this process requeues it and runs attempt 2, the one outcome.
    @Test func aKilledNodesTaskRunsAgainOnAnotherNode() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_killed"
        let gates = NSTemporaryDirectory() + "multicore-gates-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: gates) }
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)

        let killed = try ProgramRun(beside: "ClusterNodeExample", [url, schema, "1", "200", "1000"])
        let future = try await cluster.submit(WaitForGate(directory: gates, value: 5))
        let claimed = try await inspector.waitFor(
            "SELECT count(*) FROM $schema.tasks t JOIN $schema.nodes n ON n.id = t.owner WHERE t.state = 1 AND n.pid = \(killed.pid)",
            toBe: 1)
        #expect(claimed, "\(killed.output)")
        killed.signalGroup(SIGKILL)
        #expect(killed.wait(within: testDeadline) == -SIGKILL)

        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1)
        #expect(FileManager.default.createFile(atPath: WaitForGate.gate(in: gates, node: getpid()), contents: nil))
        #expect(try await within { try await future.value } == GateOutput(doubled: 10, node: getpid()))
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        // The dead node's row went with the rescue.
        #expect(try await inspector.int("SELECT count(*) FROM $schema.nodes WHERE pid = \(killed.pid)") == 0)
        await cluster.shutdown()
        try await stop(nodeRun)
    }
    /// The LISTEN connections of the submitter and of the node are terminated by the server
    /// mid-map: polling carries the map meanwhile, both listeners connect again, and every task
    /// has its one output.
    @Test func terminatedListenConnectionsReconnectAndTheMapEnds() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_terminate"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema, pollInterval: .milliseconds(200))
        let inspector = try QueueInspector(url: url, schema: schema)
        let listeners = """
            SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN "$schema_%'
            """
        #expect(try await inspector.waitFor(listeners, toBe: 2))

        let inputs = (0..<3000).map { Twice(value: $0) }
        let map = Task { try await cluster.map(inputs) }
        #expect(try await inspector.waitFor("SELECT least(count(*), 1) FROM $schema.tasks WHERE state >= 2", toBe: 1))
        let terminated = try await inspector.int("""
            SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN "$schema_%') cut
            """)
        #expect(terminated == 2, "the node's and the submitter's LISTEN connections")
        let doubled = try await within(.seconds(60), "the map") { try await map.value }
        #expect(doubled == inputs.map { $0.value * 2 })
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        // Both listen again.
        #expect(try await inspector.waitFor(listeners, toBe: 2))
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}

@Suite struct ClusterDatabaseTests {
    @Test func urlsAreParsed() throws {
        let full = try ClusterDatabase(url: "postgresql://queue:p%40ss@db.example:6543/jobs?sslmode=disable", schema: "work")
        #expect(full.host == "db.example" && full.port == 6543 && full.username == "queue")
        #expect(full.password == "p@ss" && full.database == "jobs" && full.schema == "work")
        let short = try ClusterDatabase(url: "postgres://me@[::1]")
        #expect(short.host == "::1" && short.port == 5432 && short.password == nil && short.database == nil)
        #expect(short.schema == "multicore")
    }

    @Test func badURLsAndSchemasAreTypedErrors() {
        #expect(throws: ClusterError.self) { try ClusterDatabase(url: "mysql://me@host/db") }
        #expect(throws: ClusterError.self) { try ClusterDatabase(url: "postgres://host/db") }
        #expect(throws: ClusterError.self) { try ClusterDatabase(url: "postgres://me@host:99999/db") }
        #expect(throws: ClusterError.self) { try ClusterDatabase(url: "postgres://me@host/db?sslmode=require") }
        #expect(throws: ClusterError.invalidSchema("Bad-Name")) { try ClusterDatabase(url: "postgres://me@host", schema: "Bad-Name") }
        #expect(throws: ClusterError.invalidSchema("1st")) { try ClusterDatabase(url: "postgres://me@host", schema: "1st") }
    }

    @Test func nodeConfigurationIsChecked() {
        #expect(throws: ClusterError.self) {
            try ClusterNode(url: "postgres://me@host", tasks: [Twice.self], heartbeat: .seconds(2), deadAfter: .seconds(1))
        }
        #expect(throws: ClusterError.self) { try ClusterNode(url: "postgres://me@host", tasks: []) }
        #expect(throws: ClusterError.self) { try ClusterNode(url: "postgres://me@host", processes: 0, tasks: [Twice.self]) }
    }

    /// `multicore cluster-soak ARGS` is `multicore-cluster soak ARGS` (the issue's name for the
    /// cluster's soak): without --tasks or --duration it exits 2 with the soak's usage.
    @Test func multicoreClusterSoakIsTheClusterSoak() throws {
        let run = try ProgramRun(beside: "multicore", ["cluster-soak"])
        #expect(run.wait(within: testDeadline) == 2, "\(run.output)")
        #expect(run.output.contains("one of --tasks N and --duration S is needed")
                && run.output.contains("USAGE: multicore-cluster soak"), "\(run.output)")
    }
}
