// `multicore-cluster COMMAND`: the cluster's command-line tools, each in a file of its own
// (StatusCommand, ClusterBenchCommand, BenchNodeCommand). An executable of its own: `multicore`
// (whose workers are copies of it) does not link postgres-nio; `multicore cluster ...` runs this
// one.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

func printError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

let usage = """
    USAGE: multicore-cluster COMMAND [options]


    """ + StatusCommand.usage + "\n" + ClusterBenchCommand.usage

var arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.isEmpty ? "" : arguments.removeFirst()
switch command {
case "status": exit(await StatusCommand.run(arguments))
case "bench": exit(await ClusterBenchCommand.run(arguments))
// Hidden: a node for the benchmark's node processes (ClusterBenchmarks.nodeDeathRescue).
case "bench-node": exit(await BenchNodeCommand.run(arguments))
case "help", "-h", "--help":
    print(usage, terminator: "")
    exit(0)
default:
    printError("multicore-cluster: \(command.isEmpty ? "a command is needed" : "unknown command '\(command)'")\n\n\(usage)")
    exit(2)
}
