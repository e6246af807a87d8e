import Logging
import MulticoreThreading

/// A swift-log backend that keeps every record: what a pool logs, as a user's backend gets it.
package struct RecordingLogHandler: LogHandler {
    package struct Record: Sendable {
        package let level: Logger.Level
        package let message: String
        package let metadata: Logger.Metadata
    }

    let records: Locked<[Record]>
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .trace

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        records.withLock { $0.append(Record(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:])) }
    }

    /// A logger at `level` whose records land in `records`.
    package static func logger(_ records: Locked<[Record]>, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
        logger.logLevel = level
        return logger
    }
}
