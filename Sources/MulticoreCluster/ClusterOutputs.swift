import MulticoreProcessing

/// The outputs of a cluster's tasks in input order, as an `AsyncSequence`: `for try await output
/// in cluster.results(of: tasks)`. Back-pressure: the input is read as outputs are taken, at most
/// `bufferSize` tasks in the queue or running, sent in batches (a refill once half the window was
/// taken), so an endless input works. The first failed task ends the iteration with its error.
/// Cancelling the iterating task, or leaving the loop, cancels the tasks in flight: those queued
/// never run, those running are stopped on their nodes.
public struct ClusterOutputs<Tasks: Sequence>: AsyncSequence where Tasks.Element: ProcessTask {
    public typealias Element = Tasks.Element.Output
    let source: ClusterSource<Tasks>

    public func makeAsyncIterator() -> Iterator { Iterator(feed: source.feed(asCompleted: false)) }

    public struct Iterator: AsyncIteratorProtocol {
        var feed: ClusterFeed<Tasks.Iterator>

        /// The next output; nil after the last.
        /// - Throws: the task's error; `CancellationError` when the iterating task is cancelled;
        ///   `ClusterError.shutDown`, `.database` when tasks cannot be sent.
        public mutating func next() async throws -> Element? {
            try await feed.fill()
            let window = feed.window
            guard let head = window.head else { return nil }
            do {
                let value = try await withTaskCancellationHandler {
                    try await head.value
                } onCancel: {
                    window.cancelAll()
                }
                window.removeHead()
                return value
            } catch {
                window.cancelAll()
                if Task.isCancelled { throw CancellationError() }
                throw error
            }
        }
    }
}
