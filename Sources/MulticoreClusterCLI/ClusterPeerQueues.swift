import Foundation

/// pgqueuer and procrastinate, the Python PostgreSQL task queues, doing `cluster.map.auto`'s
/// work on the same server (Benchmarks/python/cluster_peers_bench.py: the jobs enqueued in
/// batches of 1,000, drained by 2 worker processes; pgqueuer with batch_size 500, procrastinate
/// fetching one job at a time, as it does). Installed from PyPI into .build/cluster-peers-venv
/// the first time; when they cannot be, the run says so and their figures are missing.
enum ClusterPeerQueues {
    static let peers = ["pgqueuer", "procrastinate"]
    static let environment = ThrowawayServer.packageRoot + "/.build/cluster-peers-venv"
    static let script = ThrowawayServer.packageRoot + "/Benchmarks/python/cluster_peers_bench.py"
    static var python: String { environment + "/bin/python" }

    /// Each peer's seconds per task (nil when its run failed, or the peers are not installed).
    /// procrastinate claims one job per transaction: a tenth of the tasks keeps its run to
    /// seconds (the figure is per task).
    static func measure(url: String, tasks: Int) -> [ClusterFigures.PeerResult] {
        guard let versions = prepare() else { return peers.map { ClusterFigures.PeerResult(peer: $0, value: nil) } }
        printError("peers: \(versions) (in .build/cluster-peers-venv)\n")
        return peers.map { peer in
            let count = peer == "procrastinate" ? max(100, tasks / 100) : max(100, tasks / 10)
            let schema = "peer_" + peer + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let run = ChildProgram.run([python, script, peer, url, schema, "\(count)"])
            let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
            guard run.status == 0, let value = Double(last.trimmingCharacters(in: .whitespaces)) else {
                printError("PEERS: \(peer) failed (status \(run.status)): \(last)\n")
                return ClusterFigures.PeerResult(peer: peer, value: nil)
            }
            printError("peers: \(peer): \(count) tasks, \(value) s/task\n")
            return ClusterFigures.PeerResult(peer: peer, value: value)
        }
    }

    /// "pgqueuer=1.6.0 procrastinate=3.10.0", installing them first when absent; nil (said loudly
    /// on standard error) when they cannot be had.
    static func prepare() -> String? {
        if let versions = versions() { return versions }
        printError("peers: installing pgqueuer and procrastinate from PyPI into .build/cluster-peers-venv (first run only)...\n")
        let created = ChildProgram.run(["/usr/bin/env", "python3", "-m", "venv", environment])
        guard created.status == 0 else {
            printError("PEERS NOT MEASURED: cannot make a virtual environment (python3 -m venv: status \(created.status)): \(created.output)\n")
            return nil
        }
        let pip = ChildProgram.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1",
                                             "--timeout", "20", "pgqueuer", "procrastinate", "uvloop", "asyncpg", "psycopg[binary]"])
        guard pip.status == 0, let versions = versions() else {
            printError("PEERS NOT MEASURED: cannot install pgqueuer and procrastinate (pip: status \(pip.status)): "
                       + "\(pip.output.split(separator: "\n").last ?? "")\n")
            return nil
        }
        return versions
    }

    private static func versions() -> String? {
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        let run = ChildProgram.run([python, script, "--versions"])
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        return run.status == 0 && line.contains("pgqueuer=") ? line : nil
    }
}
