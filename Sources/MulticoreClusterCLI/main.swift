// `multicore-cluster`: the cluster's commands (status, node, map, soak, bench), each in a file of
// its own; `multicore cluster ...` runs this executable. An executable of its own: `multicore` (whose workers are copies of it) does not link
// postgres-nio. This binary's workers are copies of it too: the task type its nodes run
// (`Doubler`) is in it, found by its mangled name.
//
// main is synchronous: a node blocks SIGTERM and SIGINT before any other thread starts (threads
// inherit the mask; an async main would have started the concurrency runtime's threads first),
// and the command runs in a detached task while the main thread waits.
#if canImport(Glibc)
import Glibc
#endif
import MulticoreThreading

let usage = """
    USAGE: multicore-cluster <command> [options]     (multicore-cluster <command> --help)

      status   a cluster's queue: tasks by type, failures in the last minute, nodes
      node     a node serving the notebook's doubler until SIGTERM or SIGINT
      map      maps the doubler over N numbers on the cluster and prints a checksum
      soak     N tasks over node processes killed at random: exactly one outcome per task
      bench    the cluster rows of the benchmark, beside a bare client and Python's queues

    """

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "node" { NodeCommand.blockStopSignals() }
let rest = Array(arguments.dropFirst())
let command: @Sendable () async -> Int32
switch arguments.first {
case "status": command = { await StatusCommand.run(rest) }
case "node": command = { await NodeCommand.run(rest) }
case "map": command = { await MapCommand.run(rest) }
case "soak": command = { await SoakCommand.run(rest) }
case "bench": command = { await ClusterBenchCommand.run(rest) }
// Hidden: a node for the benchmark's node processes (ClusterBenchmarks.nodeDeathRescue).
case "bench-node": command = { await BenchNodeCommand.run(rest) }
case "help", "-h", "--help":
    print(usage, terminator: "")
    exit(0)
case nil: failUsage("a command is needed", usage)
case let other?: failUsage("unknown command '\(other)'", usage)
}
let status = Locked<Int32>(70)
let ended = Event()
Task.detached {
    let code = await command()
    status.withLock { $0 = code }
    ended.set()
}
_ = try ended.wait()
exit(status.withLock { $0 })
