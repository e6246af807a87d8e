#if canImport(Glibc)
import Glibc
#endif
import MulticoreCluster
import MulticoreProcessing

// The task types the cluster tests send: linked into the test binary (its in-process nodes'
// workers are copies of it) and into ClusterNodeExample (a node in a process of its own), so
// that both find them by the same mangled name.

/// Doubles a number.
public struct Twice: ProcessTask, Equatable {
    public var value: Int
    public init(value: Int) { self.value = value }
    public func run() -> Int { value * 2 }
}

/// Doubles a number, or traps (its worker dies with SIGILL, or SIGTRAP) when told to.
public struct TrapWhenTold: ProcessTask {
    public var value: Int
    public var trap: Bool
    public init(value: Int, trap: Bool) {
        self.value = value
        self.trap = trap
    }

    public func run() -> Int {
        if trap { fatalError("deliberate trap in TrapWhenTold(\(value))") }
        return value * 2
    }
}

/// What `WaitForGate` returns: its doubled value and the pid of the node that ran it (its
/// worker's parent).
public struct GateOutput: Codable, Sendable, Equatable {
    public var doubled: Int
    public var node: Int32
    public init(doubled: Int, node: Int32) {
        self.doubled = doubled
        self.node = node
    }
}

/// An error a task throws when its wait ran out.
public struct GateNeverOpened: Error, Codable, CustomStringConvertible {
    public var path: String
    public var description: String { "no file \(path) within 30 s" }
}

/// Waits until the file `<directory>/open-<pid of its node>` exists (at most 30 s), then
/// returns its doubled value and its node's pid: the test opens each node's gate in turn, so
/// it decides which node finishes first.
public struct WaitForGate: ProcessTask {
    public var directory: String
    public var value: Int
    public init(directory: String, value: Int) {
        self.directory = directory
        self.value = value
    }

    public static func gate(in directory: String, node: Int32) -> String { "\(directory)/open-\(node)" }

    public func run() throws -> GateOutput {
        let node = getppid()
        let path = Self.gate(in: directory, node: node)
        for _ in 0..<6000 {
            if access(path, F_OK) == 0 { return GateOutput(doubled: value * 2, node: node) }
            usleep(5000)
        }
        throw GateNeverOpened(path: path)
    }
}

/// What a `BatchProbe` does.
public enum ProbeAction: Codable, Sendable {
    /// Returns its value doubled.
    case double
    /// Throws `ProbeRefused`.
    case refuse
    /// Traps: its worker dies.
    case trap
    /// Sleeps 30 s: past any timeout a test gives it.
    case sleep
}

/// What a `BatchProbe` told to refuse throws.
public struct ProbeRefused: Error, Codable, CustomStringConvertible {
    public var value: Int
    public var description: String { "BatchProbe(\(value)) refused" }
}

/// One kind of task that succeeds, throws, traps or overruns as told: a node runs the tasks of
/// one kind that it claims at once as a batch, so these put each way of ending into one batch.
public struct BatchProbe: ProcessTask {
    public var value: Int
    public var action: ProbeAction
    public init(value: Int, action: ProbeAction) {
        self.value = value
        self.action = action
    }

    public func run() throws -> Int {
        switch action {
        case .double: return value * 2
        case .refuse: throw ProbeRefused(value: value)
        case .trap: fatalError("deliberate trap in BatchProbe(\(value))")
        case .sleep:
            sleep(30)
            return value * 2
        }
    }
}

/// Returns `text` repeated `times` times: a large result from a small task (or, with a long
/// `text`, a large task).
public struct RepeatText: ProcessTask {
    public var text: String
    public var times: Int
    public init(text: String, times: Int) {
        self.text = text
        self.times = times
    }

    public func run() -> String { String(repeating: text, count: times) }
}

/// Returns the pid of the worker that ran it (with its value, so that tasks differ).
public struct WorkerPid: ProcessTask {
    public var value: Int
    public init(value: Int) { self.value = value }
    public func run() -> Int32 { getpid() }
}

/// What a `Flaky` task throws while it has failures left.
public struct FlakyFailure: Error, Codable, CustomStringConvertible {
    public var attempt: Int
    public var description: String { "flaky failure at run \(attempt)" }
}

/// Fails its first `failures` runs, then returns its value doubled. Its runs are counted in
/// `directory` (a file per run, created atomically), across workers and nodes.
public struct Flaky: ProcessTask {
    public var directory: String
    public var failures: Int
    public var value: Int
    public init(directory: String, failures: Int, value: Int) {
        self.directory = directory
        self.failures = failures
        self.value = value
    }

    /// The number of this run: the first file `run-N` that it creates.
    static func countRun(in directory: String) throws -> Int {
        for run in 1...1000 {
            let descriptor = open("\(directory)/run-\(run)", O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if descriptor >= 0 {
                close(descriptor)
                return run
            }
            guard errno == EEXIST else { break }
        }
        throw GateNeverOpened(path: "\(directory)/run-N")
    }

    public func run() throws -> Int {
        let run = try Self.countRun(in: directory)
        if run <= failures { throw FlakyFailure(attempt: run) }
        return value * 2
    }
}

/// `Flaky`, whose type asks for two retries of its errors.
public struct FlakyRetried: ClusterRetryingTask {
    public static let retriesOnError = 2
    public var flaky: Flaky
    public init(directory: String, failures: Int, value: Int) { flaky = Flaky(directory: directory, failures: failures, value: value) }
    public func run() throws -> Int { try flaky.run() }
}

/// Every type above: what a test node serves.
public let clusterTestTaskTypes: [any ProcessTask.Type] = [Twice.self, TrapWhenTold.self, WaitForGate.self, BatchProbe.self,
                                                           RepeatText.self, WorkerPid.self, Flaky.self, FlakyRetried.self]
