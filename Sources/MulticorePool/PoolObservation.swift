import Logging
import MulticoreProcessing
import MulticoreThreading

/// How a process pool reports on itself: its label, its logger, where its workers' output goes.
struct PoolObservation: Sendable {
    /// The pool's name in log metadata ("pool") and metrics: given, or "ProcessPoolExecutor-N", "Pool-N".
    let label: String
    /// nil: silent, as a library is by default.
    let logger: Logger?
    let output: WorkerOutput

    /// - Throws: `PoolConfigurationError.outputToLoggerWithoutLogger` for `.logger` with no logger.
    init(label: String?, kind: String, logger: Logger?, output: WorkerOutput) throws(PoolConfigurationError) {
        if output == .logger, logger == nil { throw .outputToLoggerWithoutLogger }
        self.label = label ?? kind + "-" + String(Self.counter.withLock { $0 += 1; return $0 })
        self.logger = logger
        self.output = output
    }

    private static let counter = Locked(0)

    /// `message` at `level` with the pool's label and `worker`'s metadata, if there is a logger
    /// (nothing is built otherwise).
    func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, worker: WorkerIdentity? = nil,
             metadata: @autoclosure () -> Logger.Metadata = [:]) {
        guard let logger, logger.logLevel <= level else { return }
        var all = metadata()
        all["pool"] = .string(label)
        if let worker {
            all["worker.pid"] = .stringConvertible(worker.pid)
            all["worker.name"] = .string(worker.name)
        }
        logger.log(level: level, message(), metadata: all)
    }

    /// Where a worker's streams go: (stdout, stderr); nil for stdout means it keeps this process's.
    func destinations(for worker: WorkerIdentity) -> (output: OutputTap.Destination?, error: OutputTap.Destination) {
        switch output {
        case .inherit:
            return (nil, .raw(2))
        case .prefixed:
            return (.prefixed(1, "[\(worker.name)] "), .prefixed(2, "[\(worker.name)] "))
        case .discard:
            return (.discard, .discard)
        case .logger:
            let stream = { (name: String) -> OutputTap.Destination in
                .lines { [self] line in
                    log(.info, "\(line)", worker: worker, metadata: ["stream": .string(name)])
                }
            }
            return (stream("stdout"), stream("stderr"))
        }
    }
}
