// A cluster node in a process of its own, for the tests that stop, kill or terminate a node:
//   ClusterNodeExample URL SCHEMA PROCESSES HEARTBEAT_MS DEAD_AFTER_MS [GRACE_MS]
// It serves the task types of ClusterTestTasks and logs its events (notice) on standard output.
// SIGTERM stops it as a deployment would: it claims nothing more, lets its running tasks finish
// for up to GRACE_MS (default 30 s), hands back the rest, and exits with 0.
#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Logging
import MulticoreCluster
import MulticoreThreading

// SIGTERM is blocked before any other thread starts (threads inherit the mask: so this main is
// synchronous, with no await that would start the concurrency runtime's threads first) and taken
// by a thread of its own in `sigwait`; the node's workers are spawned with their own mask.
var termination = sigset_t()
sigemptyset(&termination)
sigaddset(&termination, SIGTERM)
pthread_sigmask(SIG_BLOCK, &termination, nil)

let arguments = CommandLine.arguments
guard (6...7).contains(arguments.count), let processes = Int(arguments[3]), let heartbeat = Int(arguments[4]),
      let deadAfter = Int(arguments[5]), let grace = arguments.count == 7 ? Int(arguments[6]) : 30_000 else {
    print("usage: ClusterNodeExample URL SCHEMA PROCESSES HEARTBEAT_MS DEAD_AFTER_MS [GRACE_MS]")
    exit(2)
}
let logger: Logger = {
    var logger = Logger(label: "node") { StreamLogHandler.standardOutput(label: $0) }
    logger.logLevel = .notice
    return logger
}()
let node = try ClusterNode(url: arguments[1], schema: arguments[2], processes: processes, tasks: clusterTestTaskTypes,
                           heartbeat: .milliseconds(heartbeat), deadAfter: .milliseconds(deadAfter),
                           pollInterval: .milliseconds(200), gracePeriod: .milliseconds(grace), logger: logger)
let ended = Event()
let failure = Locked<(any Error)?>(nil)
// Detached: top-level code is the main actor's, and the main thread waits below.
let running = Task.detached {
    do { try await node.run() } catch { failure.withLock { $0 = error } }
    ended.set()
}
let watcher = JoinableThread(name: "sigterm", daemon: true) { [termination] in
    var waited = termination
    var signal: Int32 = 0
    while sigwait(&waited, &signal) != 0 {}
    logger.notice("SIGTERM: stopping the node")
    running.cancel()
}
try watcher.start()
_ = try ended.wait()
if let error = failure.withLock({ $0 }) {
    print("node failed: \(error)")
    exit(1)
}
print("node stopped")
