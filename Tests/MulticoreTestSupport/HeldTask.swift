import MulticoreProcessing

/// A task that sets `started` once it runs, then holds its worker until `release` is set (at
/// most `limit`), and returns `value`: a task that is certainly running when a test acts, and
/// finishes when the test says so (or, with a `release` nobody sets, not before `limit`: an
/// hour by default, longer than any test may wait, even with its async code starved for a
/// minute under ThreadSanitizer).
public struct HeldTask: ProcessTask {
    public var started: SharedEvent
    public var release: SharedEvent
    public var value: Int
    public var limit: Duration

    public init(started: SharedEvent, release: SharedEvent, value: Int, limit: Duration = .seconds(3600)) {
        self.started = started
        self.release = release
        self.value = value
        self.limit = limit
    }

    /// The error of a task whose `release` never came.
    public struct NeverReleased: Error, Codable {}

    public func run() throws -> Int {
        started.set()
        guard try release.wait(timeout: limit) else { throw NeverReleased() }
        return value
    }
}
