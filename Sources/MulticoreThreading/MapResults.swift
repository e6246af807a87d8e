import DequeModule

/// The results of `ThreadPoolExecutor.map`, in input order: `for result in results` (each a
/// `Result`, see `ResultIterator`) or `while let r = try results.next()`. Releasing it before
/// the end cancels the calls not yet started.
public final class MapResults<Input: IteratorProtocol, Output: Sendable>: Sequence {
    private var input: LazyInput<Input>
    private var inFlight = Deque<Future<Output>>()
    private let deadline: Deadline
    private let submit: (Input.Element) throws -> Future<Output>

    /// Results of `submit` applied to each element of `input`, submitted `bufferSize` ahead;
    /// the thread and process executors' `map`.
    package init(input: Input, deadline: Deadline, bufferSize: Int,
                 submit: @escaping (Input.Element) throws -> Future<Output>) {
        self.input = LazyInput(input, bufferSize: bufferSize)
        self.deadline = deadline
        self.submit = submit
    }

    deinit {
        for future in inFlight { future.cancel() }
    }

    /// The next result in input order, nil at the end.
    /// - Throws: the error that call threw; `FutureError.timeout` when the map's timeout
    ///   passed; `ExecutorError.shutDown` if the executor shut down before all input was submitted.
    @available(*, noasync, message: "blocks the thread")
    public func next() throws -> Output? {
        try input.refill(inFlight: { inFlight.count }) { inFlight.append(try submit($0)) }
        guard let future = inFlight.popFirst() else { return nil }
        return try future.result(timeout: deadline.remaining)
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
    public func makeIterator() -> ResultIterator<Output> {
        ResultIterator(endsAfter: { $0 as? FutureError == .timeout || $0 as? ExecutorError == .shutDown }) { try self.next() }
    }
}
