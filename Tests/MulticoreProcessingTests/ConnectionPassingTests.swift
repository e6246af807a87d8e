import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// Answers each message on `connection` with the message doubled, until end-of-file.
struct Echo: ProcessTask {
    var connection: Connection
    func run() throws -> Int {
        var answered = 0
        while true {
            let value: Int
            do { value = try connection.recv(Int.self) } catch ConnectionError.endOfFile { return answered }
            try connection.send(value * 2)
            answered += 1
        }
    }
}

/// Writes `count` Doubles into the sending end of a one-way pipe, as one message.
struct BulkSender: ProcessTask {
    var output: Connection
    var count: Int
    func run() throws -> Int {
        try output.send((0..<count).map(Double.init))
        output.close()
        return count
    }
}

/// Returns the `maxFrameSize` of the connection it was given.
struct MaxFrameSizeInChild: ProcessTask {
    var connection: Connection
    func run() -> Int { connection.maxFrameSize }
}

@Suite(.timeLimit(.minutes(5))) struct ConnectionPassingTests {
    @Test func aConnectionKeepsItsMaxFrameSizeInTheChild() throws {
        let (_, theirs) = try Connection.pipe(maxFrameSize: 1234)
        let child = ChildProcess(task: MaxFrameSizeInChild(connection: theirs))
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == 1234)
    }

    @Test func aChildAnswersOnAConnectionItWasGiven() throws {
        let (mine, theirs) = try Connection.pipe()
        let child = ChildProcess(task: Echo(connection: theirs))
        try child.start()
        theirs.close() // only the child holds that end now: its exit gives us end-of-file
        for value in 0..<100 {
            try mine.send(value)
            #expect(try mine.poll(timeout: testDeadline))
            #expect(try mine.recv(Int.self) == value * 2)
        }
        mine.close()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == 100)
    }

    @Test func aOneWayEndKeepsItsDirectionInTheChild() throws {
        let (reader, writer) = try Connection.pipe(duplex: false)
        let child = ChildProcess(task: BulkSender(output: writer, count: 1_000_000))
        try child.start()
        writer.close()
        #expect(try reader.poll(timeout: testDeadline))
        let values = try reader.recv([Double].self)
        #expect(values.count == 1_000_000 && values[999_999] == 999_999)
        #expect(throws: ConnectionError.endOfFile) { try reader.recv([Double].self) }
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.exitCode == 0)
    }

    @Test func aConnectionTravelsOnlyInsideATask() throws {
        let (first, second) = try Connection.pipe()
        #expect(throws: EncodingError.self) { try WireEncoder().encode(first) }
        #expect(throws: EncodingError.self) { try first.send(second) }
        let bytes = try WireEncoder().encode(first, descriptors: DescriptorTable())
        #expect(throws: DecodingError.self) { try WireDecoder().decode(Connection.self, from: bytes) }
        second.close()
        let child = ChildProcess(task: Echo(connection: second))
        #expect(throws: ConnectionError.closed) { try child.start() }
        #expect(child.pid == nil, "nothing was started")
    }
}
