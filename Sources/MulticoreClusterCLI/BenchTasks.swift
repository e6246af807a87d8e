#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreProcessing

// The task types of the cluster benchmark. Its nodes, in process or `bench-node` processes, are
// this executable, so their workers (copies of it) know them by the same mangled names.

/// x*2: the notebook's doubler.
struct BenchDouble: ProcessTask {
    var value: Int
    func run() -> Int { value * 2 }
}

/// Says it started (a file `start-<value>-<node pid>-<worker pid>` in `directory`, holding the
/// monotonic clock's seconds then, the clock every process of the machine shares), then waits
/// until the file `release-<value>` exists (at most 60 s) and returns its doubled value: the task
/// the benchmark kills the node or the worker of while it runs.
struct BenchHold: ProcessTask {
    var directory: String
    var value: Int

    func run() throws -> Int {
        let started = monotonicSeconds()
        let name = "\(directory)/start-\(value)-\(getppid())-\(getpid())"
        try Data("\(started)".utf8).write(to: URL(fileURLWithPath: name), options: .atomic)
        let release = "\(directory)/release-\(value)"
        for _ in 0..<30_000 {
            if access(release, F_OK) == 0 { return value * 2 }
            usleep(2_000)
        }
        throw BenchError("\(release) did not appear within 60 s")
    }

    /// A started run of a `BenchHold`, as its file says.
    struct Start: Equatable {
        let value: Int
        let node: Int32
        let worker: Int32
        let at: Double
    }

    /// The runs of task `value` that started so far, oldest first.
    static func starts(of value: Int, in directory: String) -> [Start] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Start? in
            let fields = name.split(separator: "-")
            guard fields.count == 4, fields[0] == "start", Int(fields[1]) == value, let node = Int32(fields[2]),
                  let worker = Int32(fields[3]),
                  let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8), let at = Double(text) else { return nil }
            return Start(value: value, node: node, worker: worker, at: at)
        }.sorted { $0.at < $1.at }
    }

    static func release(_ value: Int, in directory: String) throws {
        try Data().write(to: URL(fileURLWithPath: "\(directory)/release-\(value)"))
    }
}

/// Every type above: what the benchmark's nodes serve.
let benchTaskTypes: [any ProcessTask.Type] = [BenchDouble.self, BenchHold.self]

/// CLOCK_MONOTONIC in seconds: one clock for every process of the machine.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
