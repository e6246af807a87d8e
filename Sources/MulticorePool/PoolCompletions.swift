import MulticoreProcessing
import MulticoreThreading

/// One task's outcome, with its place in the input: what `completions(of:)` yields.
public struct PoolCompletion<Output: Sendable>: Sendable {
    /// The task's position in the input, from 0.
    public let index: Int
    /// Its output, or the error it failed with.
    public let result: Result<Output, any Error>
    /// The worker process that ran it (see `Future.worker`); nil if none did (cancelled).
    public let worker: WorkerIdentity?

    /// Also what a cluster's `completions(of:)` yields (its worker: the node process).
    package init(index: Int, result: Result<Output, any Error>, worker: WorkerIdentity?) {
        self.index = index
        self.result = result
        self.worker = worker
    }
}

/// The outcomes of a pool's tasks as they complete, each with its input index, as an
/// `AsyncSequence`: Python's `as_completed`, with back-pressure (at most `bufferSize` tasks in
/// flight, the input read as outcomes are taken). A failed task is an outcome like any other.
/// Cancelling the iterating task (or leaving the loop) stops the work in flight.
public struct PoolCompletions<Tasks: Sequence>: AsyncSequence where Tasks.Element: ProcessTask {
    public typealias Element = PoolCompletion<Tasks.Element.Output>
    let source: PoolSource<Tasks>

    public func makeAsyncIterator() -> Iterator { Iterator(feed: source.feed()) }

    public struct Iterator: AsyncIteratorProtocol {
        var feed: PoolFeed<Tasks.Iterator>

        /// The next outcome to complete; nil once every task's outcome was taken.
        /// - Throws: `CancellationError` when the iterating task is cancelled.
        public mutating func next() async throws -> Element? {
            try feed.fill()
            guard !feed.window.isEmpty else { return nil }
            let window = feed.window
            let done = try await withTaskCancellationHandler {
                try await window.nextDone()
            } onCancel: {
                window.interruptAll()
            }
            return PoolCompletion(index: done.index, result: done.result, worker: done.worker)
        }
    }
}
