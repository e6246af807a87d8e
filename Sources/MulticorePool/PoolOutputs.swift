import MulticoreProcessing
import MulticoreThreading

/// The outputs of a pool's tasks in input order, as an `AsyncSequence`: `for try await output in
/// pool.results(of: tasks)`. Back-pressure: the input is read only as outputs are taken, with
/// at most `bufferSize` tasks (or chunks, with `chunksize`) submitted ahead, so an endless input
/// works. The first task that failed ends the iteration by throwing its error.
///
/// Cancelling the iterating task (or leaving the loop) stops the work in flight: tasks not
/// started are dropped, and the workers running tasks are stopped and replaced.
public struct PoolOutputs<Tasks: Sequence>: AsyncSequence where Tasks.Element: ProcessTask {
    public typealias Element = Tasks.Element.Output
    let source: PoolSource<Tasks>

    @usableFromInline init(source: PoolSource<Tasks>) { self.source = source }

    public func makeAsyncIterator() -> Iterator {
        source.chunkSize == 1 ? Iterator(feed: source.feed()) : Iterator(feed: source.feed(), chunks: source.chunks(),
                                                                          chunkSize: source.chunkSize)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var feed: PoolFeed<Tasks.Iterator>
        /// With chunks: their window (`feed` then stays unused).
        @usableFromInline let chunks: PoolChunkFeed<Tasks.Iterator>?
        /// The outputs of the chunk being taken: in this struct, not in the class, so that taking
        /// one needs no dynamic exclusivity check.
        @usableFromInline var ready = ReadyOutputs<Element>()
        /// A `chunksize` below 1, thrown by the first `next`.
        private let invalidChunkSize: Int?

        init(feed: PoolFeed<Tasks.Iterator>, chunks: PoolChunkFeed<Tasks.Iterator>? = nil, chunkSize: Int = 1) {
            self.feed = feed
            self.chunks = chunkSize >= 1 ? chunks : nil
            invalidChunkSize = chunkSize >= 1 ? nil : chunkSize
        }

        /// The next output; nil after the last.
        /// - Throws: the task's error; `CancellationError` when the iterating task is cancelled;
        ///   `ExecutorError.invalidChunksize` for a `chunksize` below 1.
        @inlinable
        public mutating func next() async throws -> Element? {
            try await next(isolation: nil)
        }

        /// `next()` on the caller's isolation (what `for try await` calls). Inlined into the
        /// caller's loop: an output at hand is taken without a call or a switch of executor.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
            if let value = ready.nextValue() { return value }
            return try await nextSlowly(isolation: actor)
        }

        /// The next chunk's first output, or the next task's.
        @usableFromInline
        mutating func nextSlowly(isolation actor: isolated (any Actor)?) async throws -> Element? {
            if let chunks { return try await chunks.next(into: &ready, isolation: actor) }
            return try await nextTask(isolation: actor)
        }

        /// The next output of the tasks sent one by one.
        mutating func nextTask(isolation actor: isolated (any Actor)?) async throws -> Element? {
            if let invalidChunkSize { throw ExecutorError.invalidChunksize(invalidChunkSize) }
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
