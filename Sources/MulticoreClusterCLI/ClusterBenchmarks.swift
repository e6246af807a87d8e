#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreCluster
import MulticoreProcessing

/// What every cluster benchmark is given.
struct ClusterBenchContext: Sendable {
    /// The server's URL (the benchmark's own throwaway server, or `--database`).
    let url: String
    let rounds: Int
    /// Tasks of `cluster.map.auto`'s map (and of its raw reference).
    let mapTasks: Int
    /// Whether pgqueuer and procrastinate are measured too.
    let peers: Bool
    /// A scratch folder of this run (the `BenchHold` tasks' files, the node processes' logs).
    let directory: String

    /// A schema of its own for one benchmark: `prefix` and a random suffix.
    func schema(_ prefix: String) -> String { prefix + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 16) }
}

/// One row's figures: Multicore's, the raw reference's, the peers' (nil: the row has none).
struct ClusterFigures: Sendable {
    var multicore: Double?
    var raw: Double?
    var peers: [PeerResult]? = nil

    struct PeerResult: Sendable {
        let peer: String
        let value: Double?
    }
}

/// The Multicore side of each row. Nodes in this process (`ClusterNode`, one worker process
/// each) unless said otherwise; `cluster.node_death_rescue` needs node processes (`bench-node`).
enum ClusterBenchmarks {
    static let all: [(name: String, measure: @Sendable (ClusterBenchContext) async throws -> ClusterFigures)] = [
        ("cluster.map.auto", { context in try await mapAuto(context) }),
        ("cluster.submit.latency", { context in try await submitLatency(context) }),
        ("cluster.node_death_rescue", { context in
            ClusterFigures(multicore: try await nodeDeathRescue(context, heartbeat: .seconds(2), deadAfter: .seconds(10), perRound: 1))
        }),
        // A 0.5 s heartbeat, a node dead after 2.5 s: the defaults' ratio (5 heartbeats).
        ("cluster.node_death_rescue.0.5s", { context in
            ClusterFigures(multicore: try await nodeDeathRescue(context, heartbeat: .milliseconds(500), deadAfter: .milliseconds(2500),
                                                                perRound: 2))
        }),
        ("cluster.task_crash_detect", { context in ClusterFigures(multicore: try await taskCrashDetect(context)) }),
    ]

    /// Seconds per task of a map of x*2 over `mapTasks` Ints on 2 in-process nodes of one worker
    /// each (the median over the rounds, at most 2: a round of 200k takes a minute on a loaded
    /// machine); raw: the same rows through a bare client in batches of 100; peers: pgqueuer and
    /// procrastinate on the same server.
    static func mapAuto(_ context: ClusterBenchContext) async throws -> ClusterFigures {
        let n = context.mapTasks
        var ours: [Double] = [], raws: [Double] = []
        try await withNodes(context, schema: context.schema("bench_map"), nodes: 2) { cluster in
            _ = try await cluster.map((0..<1_000).map { BenchDouble(value: $0) }) // warm-up: workers started
            for round in 0..<min(context.rounds, 2) {
                // Raw and ours alternate which goes first, so that noise hits both alike.
                if round % 2 == 1 { raws.append(try await ClusterRawReference.map(url: context.url, schema: context.schema("raw_map"), tasks: n)) }
                let tasks = (0..<n).map { BenchDouble(value: $0) }
                let start = monotonicSeconds()
                let outputs = try await cluster.map(tasks)
                let elapsed = monotonicSeconds() - start
                guard outputs.count == n, outputs.enumerated().allSatisfy({ $0.element == 2 * $0.offset }) else {
                    throw BenchError("the map's outputs are wrong")
                }
                ours.append(elapsed / Double(n))
                if round % 2 == 0 { raws.append(try await ClusterRawReference.map(url: context.url, schema: context.schema("raw_map"), tasks: n)) }
            }
        }
        var figures = ClusterFigures(multicore: median(ours), raw: median(raws))
        if context.peers { figures.peers = ClusterPeerQueues.measure(url: context.url, tasks: n) }
        return figures
    }

    /// The p50 seconds from `submit` to its value of one x*2, one in-process node of one worker
    /// waiting idle; raw: the bare client's cycle (`ClusterRawReference.latency`).
    static func submitLatency(_ context: ClusterBenchContext) async throws -> ClusterFigures {
        let perRound = 100
        var ours: [Double] = [], raws: [Double] = []
        try await withNodes(context, schema: context.schema("bench_latency"), nodes: 1) { cluster in
            for value in 0..<10 { _ = try await cluster.submit(BenchDouble(value: value)).value } // warm-up
            for _ in 0..<context.rounds {
                for value in 0..<perRound {
                    let start = monotonicSeconds()
                    let output = try await cluster.submit(BenchDouble(value: value)).value
                    ours.append(monotonicSeconds() - start)
                    guard output == 2 * value else { throw BenchError("submit returned \(output) for \(value)") }
                }
                raws += try await ClusterRawReference.latency(url: context.url, schema: context.schema("raw_latency"), cycles: perRound)
            }
        }
        return ClusterFigures(multicore: median(ours), raw: median(raws))
    }

    /// Seconds from the SIGKILL of the worker running a `BenchHold` on an in-process node until
    /// the submitter holds the task's failure (median of 3 per round).
    static func taskCrashDetect(_ context: ClusterBenchContext) async throws -> Double? {
        let directory = try scratch(context, "crash")
        var samples: [Double] = []
        try await withNodes(context, schema: context.schema("bench_crash"), nodes: 1) { cluster in
            _ = try await cluster.submit(BenchDouble(value: 1)).value // warm-up: the worker started
            for value in 0..<(3 * context.rounds) {
                let future = try await cluster.submit(BenchHold(directory: directory, value: value))
                let start = try await firstStart(of: value, in: directory, apartFrom: nil)
                let killedAt = monotonicSeconds()
                kill(start.worker, SIGKILL)
                do {
                    let output = try await future.value
                    throw BenchError("the task whose worker was killed returned \(output)")
                } catch is ClusterError {
                    samples.append(monotonicSeconds() - killedAt)
                }
            }
        }
        return median(samples)
    }

    /// Seconds from a node process's SIGKILL (its process group: the node and its worker) while it
    /// runs a `BenchHold`, until the task starts again on the other node (median of `perRound`
    /// per round); a node killed is replaced before the next.
    static func nodeDeathRescue(_ context: ClusterBenchContext, heartbeat: Duration, deadAfter: Duration, perRound: Int) async throws -> Double? {
        let directory = try scratch(context, "rescue")
        let schema = context.schema("bench_rescue")
        let arguments = [context.url, schema, "\(milliseconds(heartbeat))", "\(milliseconds(deadAfter))"]
        var nodes: [NodeProcess] = []
        defer { nodes.forEach { $0.kill() } }
        let cluster = try await Cluster(url: context.url, schema: schema)
        var samples: [Double] = []
        do {
            for value in 0..<(perRound * context.rounds) {
                while nodes.count < 2 { nodes.append(try NodeProcess(arguments, log: "\(directory)/nodes.log")) }
                let future = try await cluster.submit(BenchHold(directory: directory, value: value))
                let first = try await firstStart(of: value, in: directory, apartFrom: nil)
                guard let victim = nodes.firstIndex(where: { $0.pid == first.node }) else {
                    throw BenchError("task \(value) started on a node the benchmark did not start (pid \(first.node))")
                }
                let killedAt = monotonicSeconds()
                nodes.remove(at: victim).kill()
                let again = try await firstStart(of: value, in: directory, apartFrom: first.node)
                samples.append(again.at - killedAt)
                try BenchHold.release(value, in: directory)
                guard try await withAbandoningDeadline(.seconds(60), orThrow: { BenchError("task \(value) did not end") }, {
                    try await future.value
                }) == 2 * value else { throw BenchError("task \(value) returned a wrong output") }
            }
        } catch {
            await cluster.shutdown()
            nodes.forEach { $0.kill() }
            await ClusterRawReference.dropSchema(url: context.url, schema: schema)
            throw error
        }
        await cluster.shutdown()
        nodes.forEach { $0.kill() }
        await ClusterRawReference.dropSchema(url: context.url, schema: schema)
        return median(samples)
    }

    // MARK: Helpers

    /// Runs `body` with a cluster handle on `schema` and `nodes` in-process nodes of one worker
    /// each serving it; stops them all after (also when `body` throws) and drops the schema.
    static func withNodes(_ context: ClusterBenchContext, schema: String, nodes count: Int,
                          _ body: (Cluster) async throws -> Void) async throws {
        let nodes = try (0..<count).map { _ in
            try ClusterNode(url: context.url, schema: schema, processes: 1, tasks: benchTaskTypes, gracePeriod: .seconds(1))
        }
        let running = nodes.map { node in Task { try await node.run() } }
        let cluster = try await Cluster(url: context.url, schema: schema)
        var failure: (any Error)?
        do { try await body(cluster) } catch { failure = error }
        await cluster.shutdown()
        running.forEach { $0.cancel() }
        for task in running { _ = try? await task.value }
        await ClusterRawReference.dropSchema(url: context.url, schema: schema)
        if let failure { throw failure }
    }

    /// The first run of `BenchHold` `value` on a node other than `apartFrom`, waited for (60 s at most).
    static func firstStart(of value: Int, in directory: String, apartFrom node: Int32?) async throws -> BenchHold.Start {
        let deadline = monotonicSeconds() + 60
        while monotonicSeconds() < deadline {
            if let start = BenchHold.starts(of: value, in: directory).first(where: { $0.node != node }) { return start }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchError("task \(value) did not start\(node.map { " on a node other than \($0)" } ?? "") within 60 s")
    }

    static func scratch(_ context: ClusterBenchContext, _ name: String) throws -> String {
        let directory = "\(context.directory)/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// The median of `values`; nil when there is none.
func median(_ values: [Double]) -> Double? {
    let sorted = values.filter(\.isFinite).sorted()
    return sorted.isEmpty ? nil : sorted[sorted.count / 2]
}

/// A benchmark that could not be measured, and why.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
