import MulticoreProcessing
import MulticoreThreading

/// What `results(of:)` and `completions(of:)` were given: each iteration reads the tasks anew.
struct ClusterSource<Tasks: Sequence> where Tasks.Element: ProcessTask {
    let cluster: Cluster
    let tasks: Tasks
    let bufferSize: Int
    let timeout: Duration?

    func feed(asCompleted: Bool) -> ClusterFeed<Tasks.Iterator> {
        ClusterFeed(cluster: cluster, input: tasks.makeIterator(), bufferSize: bufferSize, timeout: timeout, asCompleted: asCompleted)
    }
}

/// What the two sequences read their input through: the input's iterator and the window of
/// futures in flight. Sends more once the window is half empty, so tasks go in batches.
struct ClusterFeed<Input: IteratorProtocol> where Input.Element: ProcessTask {
    let cluster: Cluster
    var input: Input
    let bufferSize: Int
    let timeout: Duration?
    let window: ClusterWindow<Input.Element.Output>
    private var exhausted = false
    private var sent = 0

    init(cluster: Cluster, input: Input, bufferSize: Int, timeout: Duration?, asCompleted: Bool) {
        window = ClusterWindow(asCompleted: asCompleted)
        self.cluster = cluster
        self.input = input
        self.bufferSize = max(1, bufferSize)
        self.timeout = timeout
    }

    mutating func fill() async throws {
        guard !exhausted, window.count <= bufferSize / 2 else { return }
        var batch: [Input.Element] = []
        while window.count + batch.count < bufferSize, let task = input.next() { batch.append(task) }
        if window.count + batch.count < bufferSize { exhausted = true }
        guard !batch.isEmpty else { return }
        let futures = try await cluster.submit(contentsOf: batch, timeout: timeout)
        window.add(futures, from: sent)
        sent += futures.count
    }
}

/// The futures in flight, by input index, and the indexes of those done, in the order they
/// finished. Cancels what is left when dropped (a loop left early).
final class ClusterWindow<Output: Sendable>: Sendable {
    private struct State {
        var futures: [Int: Future<Output>] = [:]
        var head = 0
        var done: [Int] = []
        var doneTaken = 0
    }

    private let state = Locked(State())
    private let doneBell = Doorbell()
    /// Whether the order in which futures finish is kept (`completions`).
    private let asCompleted: Bool

    init(asCompleted: Bool) { self.asCompleted = asCompleted }

    deinit { cancelAll() }

    var count: Int { state.withLock { $0.futures.count } }
    var isEmpty: Bool { count == 0 }

    func add(_ futures: [Future<Output>], from first: Int) {
        state.withLock { state in
            for (offset, future) in futures.enumerated() { state.futures[first + offset] = future }
        }
        guard asCompleted else { return }
        for (offset, future) in futures.enumerated() {
            future.addDoneCallback { [weak self] _ in
                guard let self else { return }
                state.withLock { $0.done.append(first + offset) }
                doneBell.ring()
            }
        }
    }

    /// The future of the first input not taken yet.
    var head: Future<Output>? { state.withLock { $0.futures[$0.head] } }

    func removeHead() {
        state.withLock { state in
            state.futures[state.head] = nil
            state.head += 1
        }
    }

    /// The next future to finish, taken out of the window; nil when the calling task is cancelled.
    func nextDone() async -> (Int, Future<Output>)? {
        while !Task.isCancelled {
            let next = state.withLock { state -> (Int, Future<Output>)? in
                defer {
                    if state.doneTaken > 1024 {
                        state.done.removeFirst(state.doneTaken)
                        state.doneTaken = 0
                    }
                }
                while state.doneTaken < state.done.count {
                    let index = state.done[state.doneTaken]
                    state.doneTaken += 1
                    if let future = state.futures.removeValue(forKey: index) { return (index, future) }
                }
                return nil
            }
            if let next { return next }
            await doneBell.wait(upTo: .seconds(1))
        }
        return nil
    }

    /// Cancels every future in flight: their tasks are withdrawn from the queue, or stopped on
    /// their nodes.
    func cancelAll() {
        let futures = state.withLock { Array($0.futures.values) }
        for future in futures where !future.isDone { future.cancel() }
    }
}
