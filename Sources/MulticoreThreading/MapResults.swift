import DequeModule

/// The results of `ThreadPoolExecutor.map` and `ProcessPoolExecutor.map`, in input order:
/// `for result in results` (each a `Result`, see `ResultIterator`) or
/// `while let r = try results.next()`. Releasing it before the end cancels the calls not yet started.
public final class MapResults<Input: IteratorProtocol, Output: Sendable>: Sequence {
    /// Without chunks: the input, and each element's future in flight.
    private var input: LazyInput<Input>?
    private var inFlight = Deque<Future<Output>>()
    private let deadline: Deadline
    private let submit: ((Input.Element) throws -> Future<Output>)?
    /// With chunks (`ProcessPoolExecutor.map(chunksize:)`): the chunks in flight, and the outputs
    /// of the one being taken.
    private var chunks: ChunkWindow<Input, Output>?
    @usableFromInline var ready = ReadyOutputs<Output>()

    /// Results of `submit` applied to each element of `input`, submitted `bufferSize` ahead;
    /// the thread and process executors' `map`.
    package init(input: Input, deadline: Deadline, bufferSize: Int,
                 submit: @escaping (Input.Element) throws -> Future<Output>) {
        self.input = LazyInput(input, bufferSize: bufferSize)
        self.deadline = deadline
        self.submit = submit
    }

    /// Results of chunks of `chunkSize` elements, each submitted with `submitChunk`, at most
    /// `bufferSize` chunks ahead.
    package init(input: Input, readChunk: LazyInput<Input>.ChunkReader?, deadline: Deadline, chunkSize: Int, bufferSize: Int,
                 submitChunk: @escaping ([Input.Element]) throws -> Future<ChunkOutcomes<Output>>) {
        self.input = nil
        self.deadline = deadline
        self.submit = nil
        chunks = ChunkWindow(input: input, readChunk: readChunk, chunkSize: chunkSize, bufferSize: bufferSize, submit: submitChunk)
    }

    deinit {
        for future in inFlight { future.cancel() }
        chunks?.cancelAll(stopRunning: false)
    }

    /// The next result in input order, nil at the end.
    /// - Throws: the error that call threw; `FutureError.timeout` when the map's timeout
    ///   passed; `ExecutorError.shutDown` if the executor shut down before all input was submitted.
    @inlinable @available(*, noasync, message: "blocks the thread")
    public func next() throws -> Output? {
        if let value = ready.nextValue() { return value }
        return try nextSlowly()
    }

    /// `next` past the outputs at hand: the next chunk, or one call's future.
    @usableFromInline @available(*, noasync, message: "blocks the thread")
    func nextSlowly() throws -> Output? {
        guard chunks != nil else {
            guard let submit, input != nil else { return nil }
            try input!.refill(inFlight: { inFlight.count }) { inFlight.append(try submit($0)) }
            guard let future = inFlight.popFirst() else { return nil }
            return try future.result(timeout: deadline.remaining)
        }
        while true {
            if let outcome = ready.nextOutcome() { return try outcome.get() }
            try chunks!.fill()
            guard chunks!.isEmpty == false else { return nil }
            let entry = chunks!.removeFirst()
            do {
                ready.take(try entry.future.result(timeout: deadline.remaining))
            } catch FutureError.timeout {
                chunks!.putBack(entry, first: true)
                throw FutureError.timeout
            } catch {
                ready.fail(error, count: entry.count) // the chunk failed as a whole
            }
        }
    }

    /// Every remaining result, in order.
    @available(*, noasync, message: "blocks the thread")
    public func collect() throws -> [Output] {
        var results: [Output] = []
        while let result = try next() { results.append(result) }
        return results
    }

    /// The remaining results as `Result`s, in order: a call's error is its element; ends once the
    /// time limit passed or the executor shut down.
    @inlinable public func makeIterator() -> ResultIterator<Output> {
        ResultIterator(endsAfter: { $0 as? FutureError == .timeout || $0 as? ExecutorError == .shutDown }) { try self.next() }
    }
}
