/// The input side of every lazy map and iteration (`ThreadPoolExecutor.map`,
/// `ProcessPoolExecutor.map`, `imap`, `imapUnordered`, `results(of:)`, `completions(of:)`): the
/// input is read only as room frees up, with at most `bufferSize` submissions in flight, so an
/// endless input works. The one prefetch engine; each caller keeps its own in-flight window.
@usableFromInline
package struct LazyInput<Input: IteratorProtocol> {
    /// Reads up to n elements from the input.
    @usableFromInline package typealias ChunkReader = (inout Input, Int) -> [Input.Element]

    private var input: Input
    private let readChunk: ChunkReader?
    /// The input has ended: nothing more will be submitted.
    package private(set) var isExhausted = false
    package let bufferSize: Int

    /// - Parameter readChunk: how chunks are read (`chunkReader()` from an inlinable caller);
    ///   nil: one element at a time, here.
    package init(_ input: Input, bufferSize: Int, readChunk: ChunkReader? = nil) {
        self.input = input
        self.bufferSize = max(1, bufferSize)
        self.readChunk = readChunk
    }

    /// A chunk reader for `Input`. Called from an `@inlinable` entry point, it is specialized
    /// for the caller's input there: each element is then read and stored without the calls
    /// through witness tables and the metadata lookups of code that is generic at run time
    /// (which cost more than the rest of a lazy map's work per element).
    @inlinable package static func chunkReader() -> ChunkReader {
        { input, count in
            var chunk: [Input.Element] = []
            chunk.reserveCapacity(count)
            while chunk.count < count, let element = input.next() { chunk.append(element) }
            return chunk
        }
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
            if let readChunk {
                chunk = readChunk(&input, size)
            } else {
                while chunk.count < size, let element = input.next() { chunk.append(element) }
            }
            if chunk.count < size { isExhausted = true }
            if !chunk.isEmpty { try submit(chunk) }
        }
    }
}
