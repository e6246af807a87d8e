import Foundation
import MulticoreCluster
import MulticorePool
import MulticoreThreading

/// The cluster's chaos soak (`multicore-cluster soak`): doublers through node processes that are
/// SIGKILLed at random, with their workers (`SoakNodes`), checking that every task sent has
/// exactly one outcome in the submitter's stream (its right output, or a failure: its worker
/// was killed, or it lost its node `maxAttempts` times) and that no row is left in the queue.
/// With a duration instead of a task count it sends tasks for that long, as fast as the nodes
/// take them, and reports the throughput and the `tasks` table's tuples per window.
enum ClusterSoak {
    struct Settings: Sendable {
        /// How many tasks; nil with `duration`.
        var tasks: Int?
        /// Seconds to send tasks for; nil with `tasks`.
        var duration: Double?
        /// The server; nil: a throwaway one.
        var url: String?
        var nodes = SoakNodes.Settings()
        var maxAttempts = 3
        /// The longest the soak waits for the outcomes, in seconds.
        var deadline = 600.0
        /// Seconds between two samples of the table (and throughput windows).
        var window = 10.0
    }

    /// One window of the run.
    struct Window: Sendable {
        var end: Double
        var tasksPerSecond: Double
        var table: QueueTables.Sample?
    }

    struct Report: Sendable {
        var tasks = 0
        var succeeded = 0
        var wrongOutput = 0
        var workerKilled = 0
        var nodeLost = 0
        var otherFailures = 0
        var otherExamples: [String] = []
        var duplicates = 0
        var withoutOutcome = 0
        var timedOut = false
        var rowsLeft: Int64?
        var windows: [Window] = []
        var kills = SoakNodes.Kills()
        var seconds = 0.0

        var mostDeadTuples: Int64 { windows.compactMap(\.table?.dead).max() ?? 0 }
        var mostLiveTuples: Int64 { windows.compactMap(\.table?.live).max() ?? 0 }

        /// What the cluster promises whatever is killed: each task sent had exactly one outcome,
        /// none of them a wrong output or a failure other than a killed worker or a lost node,
        /// and the queue kept no row.
        var isSound: Bool {
            !timedOut && wrongOutput == 0 && otherFailures == 0 && duplicates == 0 && withoutOutcome == 0 && rowsLeft == 0
                && kills.startFailures.isEmpty && succeeded + workerKilled + nodeLost == tasks
        }
    }

    /// The outcomes so far, shared by the reading loop and the sampler.
    private final class Tally: Sendable {
        private let state = Locked(Report())
        private let counts = Locked([UInt8]())

        var completed: Int { state.withLock { $0.succeeded + $0.wrongOutput + $0.workerKilled + $0.nodeLost + $0.otherFailures } }
        var report: Report { state.withLock { $0 } }

        func record(_ completion: PoolCompletion<Int>) {
            let index = completion.index
            let first = counts.withLock { counts in
                if index >= counts.count { counts += [UInt8](repeating: 0, count: max(index + 1 - counts.count, 4096)) }
                counts[index] = counts[index] &+ 1
                return counts[index] == 1
            }
            state.withLock { report in
                guard first else {
                    report.duplicates += 1
                    return
                }
                switch completion.result {
                case .success(let output): if output == index * 2 { report.succeeded += 1 } else { report.wrongOutput += 1 }
                case .failure(ClusterError.nodeLost): report.nodeLost += 1
                case .failure(ClusterError.taskFailed(_, let message, _, _, _)) where message.contains("SIGKILL"): report.workerKilled += 1
                case .failure(let error):
                    report.otherFailures += 1
                    if report.otherExamples.count < 3 { report.otherExamples.append("task \(index): \(error)") }
                }
            }
        }

        /// The indexes below `sent` with no outcome.
        func withoutOutcome(sent: Int) -> Int {
            counts.withLock { counts in (0..<sent).count { $0 >= counts.count || counts[$0] == 0 } }
        }
    }

    /// The doublers sent: `count` of them, or as many as come before `end`.
    private struct Inputs: Sequence, IteratorProtocol, Sendable {
        let count: Int?
        let end: ContinuousClock.Instant?
        let produced: Locked<Int>

        mutating func next() -> Doubler? {
            produced.withLock { produced in
                if let count, produced >= count { return nil }
                if let end, ContinuousClock.now >= end { return nil }
                produced += 1
                return Doubler(number: produced - 1)
            }
        }
    }

    /// Runs the soak; `say` prints a line as it goes (the server, the windows of a timed run).
    static func run(_ settings: Settings, say: @escaping @Sendable (String) -> Void) async throws -> Report {
        let server = try settings.url == nil ? ThrowawayServer.start() : nil
        defer { server?.stop() }
        let url = settings.url ?? server!.url
        if server != nil { say("a throwaway server: \(url)") }
        var nodeSettings = settings.nodes
        nodeSettings.url = url
        let schema = nodeSettings.schema
        // The schema is made (once) before the nodes start.
        let cluster = try await Cluster(url: url, schema: schema, maxAttempts: settings.maxAttempts)
        let tables = try QueueTables(url: url, schema: schema)
        let nodes = SoakNodes(nodeSettings)
        do {
            try nodes.start()
        } catch {
            nodes.stop()
            await cluster.shutdown()
            throw error
        }
        let tally = Tally()
        let produced = Locked(0)
        let start = ContinuousClock.now
        let inputs = Inputs(count: settings.tasks, end: settings.duration.map { start + .seconds(decimal: $0) }, produced: produced)
        let windows = Locked<[Window]>([])
        let sampler = Task {
            var next = start
            var before = 0
            while !Task.isCancelled {
                next += .seconds(decimal: settings.window)
                try? await Task.sleep(until: next, clock: .continuous)
                if Task.isCancelled { return }
                let completed = tally.completed
                let window = Window(end: (next - start).inSeconds, tasksPerSecond: Double(completed - before) / settings.window,
                                    table: try? await tables.sample())
                before = completed
                windows.withLock { $0.append(window) }
                if settings.duration != nil { say(describe(window)) }
            }
        }
        var timedOut = false
        do {
            try await withAbandoningDeadline(.seconds(decimal: settings.deadline),
                                             orThrow: { SoakError("the outcomes did not all come within \(settings.deadline) s") }) {
                for try await completion in cluster.completions(of: inputs) { tally.record(completion) }
            }
        } catch {
            say("soak: \(error)")
            timedOut = true
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        let rowsLeft = await tables.waitUntilEmpty(within: .seconds(10))
        sampler.cancel()
        await cluster.shutdown()
        nodes.stop()
        var report = tally.report
        report.tasks = produced.withLock { $0 }
        report.withoutOutcome = tally.withoutOutcome(sent: report.tasks)
        report.timedOut = timedOut
        report.rowsLeft = rowsLeft
        report.windows = windows.withLock { $0 }
        report.kills = nodes.kills
        report.seconds = seconds
        return report
    }

    static func describe(_ window: Window) -> String {
        var line = "  \(Int(window.end)) s: \(Int(window.tasksPerSecond)) tasks/s"
        if let table = window.table {
            line += "; tasks table: \(table.live) live, \(table.dead) dead tuples, \(table.bytes / 1024) KiB, vacuumed \(table.vacuums) times"
        }
        return line
    }
}
