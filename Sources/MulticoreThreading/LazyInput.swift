/// The input side of every lazy map and iteration (`ThreadPoolExecutor.map`,
/// `ProcessPoolExecutor.map`, `imap`, `imapUnordered`, `results(of:)`, `completions(of:)`): the
/// input is read only as room frees up, with at most `bufferSize` submissions in flight, so an
/// endless input works. The one prefetch engine; each caller keeps its own in-flight window.
package struct LazyInput<Input: IteratorProtocol> {
    private var input: Input
    /// The input has ended: nothing more will be submitted.
    package private(set) var isExhausted = false
    package let bufferSize: Int

    package init(_ input: Input, bufferSize: Int) {
        self.input = input
        self.bufferSize = max(1, bufferSize)
    }

    /// Submits one element at a time while fewer than `bufferSize` are in flight.
    package mutating func refill<E: Error>(inFlight: () -> Int, _ submit: (Input.Element) throws(E) -> Void) throws(E) {
        while !isExhausted, inFlight() < bufferSize {
            guard let element = input.next() else {
                isExhausted = true
                return
            }
            try submit(element)
        }
    }

    /// Submits chunks of up to `size` elements (the last may be shorter) while fewer than
    /// `bufferSize` chunks are in flight.
    package mutating func refill<E: Error>(inFlight: () -> Int, chunksOf size: Int, _ submit: ([Input.Element]) throws(E) -> Void) throws(E) {
        while !isExhausted, inFlight() < bufferSize {
            var chunk: [Input.Element] = []
            while chunk.count < size, let element = input.next() { chunk.append(element) }
            if chunk.count < size { isExhausted = true }
            if !chunk.isEmpty { try submit(chunk) }
        }
    }
}
