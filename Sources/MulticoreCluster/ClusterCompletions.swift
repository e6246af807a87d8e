import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// The outcomes of a cluster's tasks as they complete, each with its input index, as an
/// `AsyncSequence` (Python's `as_completed`), with back-pressure and cancellation as
/// `ClusterOutputs`. A failed task is an outcome like any other.
public struct ClusterCompletions<Tasks: Sequence>: AsyncSequence where Tasks.Element: ProcessTask {
    /// Its elements are `PoolCompletion`s, as a pool's: the index, the output or error, and the
    /// worker (here the node process that recorded it).
    public typealias Element = PoolCompletion<Tasks.Element.Output>
    let source: ClusterSource<Tasks>

    public func makeAsyncIterator() -> Iterator { Iterator(feed: source.feed(asCompleted: true)) }

    public struct Iterator: AsyncIteratorProtocol {
        var feed: ClusterFeed<Tasks.Iterator>

        /// The next outcome to complete; nil once every task's outcome was taken.
        /// - Throws: `CancellationError` when the iterating task is cancelled; `ClusterError.shutDown`,
        ///   `.database` when tasks cannot be sent.
        public mutating func next() async throws -> Element? {
            try await feed.fill()
            let window = feed.window
            guard !window.isEmpty else { return nil }
            let done = await withTaskCancellationHandler {
                await window.nextDone()
            } onCancel: {
                window.cancelAll()
            }
            guard let (index, future) = done else {
                window.cancelAll()
                throw CancellationError()
            }
            let result: Result<Tasks.Element.Output, any Error>
            do { result = .success(try await future.value) } catch { result = .failure(error) }
            return PoolCompletion(index: index, result: result, worker: future.worker)
        }
    }
}
