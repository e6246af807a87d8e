#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreSystem
import MulticoreThreading

/// The soak's node processes (copies of this binary running `node`) and its chaos: on a thread
/// of its own, every `killEvery` seconds on average (0.5 to 1.5 times it, from a seeded
/// generator), it SIGKILLs a random node (one kill in three, and the first; the node is started
/// again at once, as a supervisor would) or a random worker of a random node (the second kill,
/// and two in three after). The nodes are started from that
/// thread, which lives until they are stopped: each node asks for SIGTERM when it dies
/// (`--parent`), so none outlives the soak, however the soak ends.
final class SoakNodes: Sendable {
    struct Settings: Sendable {
        var count = 3
        var processes = 2
        var url = ""
        var schema = "soak"
        var heartbeat = 0.2
        var deadAfter = 1.0
        var vacuumInterval = 1.0
        /// Mean seconds between kills; nil: no kills.
        var killEvery: Double? = 0.5
        var seed: UInt64 = 1
        /// Where the nodes' standard output and error go.
        var log = "/dev/null"
    }

    struct Kills: Sendable {
        var nodes = 0
        var workers = 0
        /// Nodes that could not be started (again): a soak with any is not sound.
        var startFailures: [String] = []
    }

    private let settings: Settings
    private let stopping = Event()
    private let started = Event()
    private let tally = Locked(Kills())
    private let thread = Locked<JoinableThread?>(nil)

    init(_ settings: Settings) { self.settings = settings }

    var kills: Kills { tally.withLock { $0 } }

    /// Starts the nodes and the killer; returns once the nodes were started.
    func start() throws {
        let runner = JoinableThread(name: "soak-nodes", daemon: true) { self.run() }
        thread.withLock { $0 = runner }
        try runner.start()
        _ = try started.wait(timeout: .seconds(60))
        if let failure = kills.startFailures.first { throw SoakError("a node did not start: \(failure)") }
    }

    /// Stops the killer, then the nodes (SIGTERM: they hand back what they run; SIGKILL for any
    /// still there after 20 s), and waits for it.
    func stop() {
        stopping.set()
        _ = try? thread.withLock({ $0 })?.join(timeout: .seconds(40))
    }

    private func run() {
        let log = try? ProgramSpawn.openOutput(settings.log)
        defer { if let log { closeDescriptor(log) } }
        var nodes: [ChildProgram?] = (0..<settings.count).map { _ in startNode(log) }
        started.set()
        var random = XorShift(seed: settings.seed)
        while let killEvery = settings.killEvery, !stopping.isSet {
            let pause = Duration.seconds(decimal: killEvery * Double.random(in: 0.5..<1.5, using: &random))
            if (try? stopping.wait(timeout: pause)) != false { break }
            let slot = Int.random(in: 0..<nodes.count, using: &random)
            guard let node = nodes[slot], node.isRunning else {
                // A node that ended by itself is not a kill's doing: it is told in the report.
                nodes[slot] = startNode(log)
                continue
            }
            // The first kill is a node's, the second a worker's, so a short soak has both.
            let kills = tally.withLock { $0.nodes + $0.workers }
            if kills == 0 || (kills > 1 && Int.random(in: 0..<3, using: &random) == 0) {
                node.signal(SIGKILL)
                ChildProgram.waitForExit([node], within: .seconds(10))
                tally.withLock { $0.nodes += 1 }
                nodes[slot] = startNode(log)
            } else {
                let workers = Self.children(of: node.pid)
                guard !workers.isEmpty else { continue }
                ProgramSpawn.signal(workers[Int.random(in: 0..<workers.count, using: &random)], SIGKILL)
                tally.withLock { $0.workers += 1 }
            }
        }
        if settings.killEvery == nil { _ = try? stopping.wait() }
        let running = nodes.compactMap { $0 }.filter(\.isRunning)
        for node in running { node.signal(SIGTERM) }
        ChildProgram.waitForExit(running, within: .seconds(20))
        for node in running { node.signal(SIGKILL) }
        ChildProgram.waitForExit(running, within: .seconds(10))
    }

    private func startNode(_ log: Int32?) -> ChildProgram? {
        let arguments = ["node", "--database", settings.url, "--schema", settings.schema, "--processes", "\(settings.processes)",
                         "--heartbeat", "\(settings.heartbeat)", "--dead-after", "\(settings.deadAfter)", "--grace", "5",
                         "--vacuum-interval", "\(settings.vacuumInterval)", "--parent", "\(getpid())"]
        do {
            guard let log else { throw SoakError("cannot write \(settings.log)") }
            return try ChildProgram(Self.executable, arguments, output: log)
        } catch {
            tally.withLock { $0.startFailures.append("\(error)") }
            return nil
        }
    }

    /// This executable's path.
    private static let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

    /// The pids of `pid`'s children (a node's: its pool's workers).
    private static func children(of pid: Int32) -> [Int32] {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return threads.flatMap { thread in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
    }
}
