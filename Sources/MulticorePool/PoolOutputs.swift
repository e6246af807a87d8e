import MulticoreProcessing
import MulticoreThreading

/// The outputs of a pool's tasks in input order, as an `AsyncSequence`: `for try await output in
/// pool.results(of: tasks)`. Back-pressure: the input is read only as outputs are taken, with
/// at most `bufferSize` tasks submitted ahead, so an endless input works. The first task that
/// failed ends the iteration by throwing its error.
///
/// Cancelling the iterating task (or leaving the loop) stops the work in flight: tasks not
/// started are dropped, and the workers running tasks are stopped and replaced.
public struct PoolOutputs<Tasks: Sequence>: AsyncSequence where Tasks.Element: ProcessTask {
    public typealias Element = Tasks.Element.Output
    let source: PoolSource<Tasks>

    public func makeAsyncIterator() -> Iterator { Iterator(feed: source.feed()) }

    public struct Iterator: AsyncIteratorProtocol {
        var feed: PoolFeed<Tasks.Iterator>

        /// The next output; nil after the last.
        /// - Throws: the task's error; `CancellationError` when the iterating task is cancelled.
        public mutating func next() async throws -> Element? {
            try feed.fill()
            guard let head = feed.window.first else { return nil }
            let window = feed.window
            do {
                let value = try await withTaskCancellationHandler {
                    try await head.future.value
                } onCancel: {
                    window.interruptAll()
                }
                feed.window.removeFirst()
                return value
            } catch {
                // Whether the head was still queued (cancelled) or running (stopped), the
                // iteration ends the same way.
                if Task.isCancelled { throw CancellationError() }
                throw error
            }
        }
    }
}
