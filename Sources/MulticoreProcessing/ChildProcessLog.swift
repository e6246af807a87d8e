import Logging
import MulticoreThreading

/// What a `ChildProcess` logs with the logger it was given: its start (debug, with its start
/// method) and its end (debug; notice when it trapped, crashed or was killed by another
/// process, which its owner did not expect), with metadata `process.pid`, `process.name` and
/// `exit.code`. Without a logger nothing is built.
struct ChildProcessLog: Sendable {
    let logger: Logger?

    func started(_ child: WorkerIdentity, method: StartMethod) {
        log(.debug, "process started", child, ["start.method": .string(method.rawValue)])
    }

    func ended(_ report: ExitReport) {
        let level: Logger.Level
        switch report.reason {
        case .trapped, .crashed, .killed, .outOfMemory: level = .notice
        case .exited, .stoppedByOwner, .memoryLimit: level = .debug
        }
        log(level, "process ended: \(report.reason)", report.worker, ["exit.code": .stringConvertible(report.exitCode)])
    }

    private func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, _ child: WorkerIdentity,
                     _ metadata: @autoclosure () -> Logger.Metadata) {
        guard let logger, logger.logLevel <= level else { return }
        var all = metadata()
        all["process.pid"] = .stringConvertible(child.pid)
        all["process.name"] = .string(child.name)
        logger.log(level: level, message(), metadata: all)
    }
}
