import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading

/// The faults the system can give a read or a write, planned on every kind of transfer.
private func transferFaults(_ fault: Fault, every: Int) -> [(SystemCall, every: Int, Fault)] {
    [(.read, every, fault), (.write, every, fault), (.send, every, fault), (.receive, every, fault)]
}

/// The connection and child-process paths under injected EINTR, EAGAIN and short transfers:
/// each fault is one the system could give, so every result must be exact. One test at a time
/// (the plan is process-wide); the other suites that run meanwhile meet the faults too, and
/// must not notice.
@Suite(.serialized, .timeLimit(.minutes(5))) struct FaultInjectionTests {
    /// A payload whose every byte depends on its place: a byte lost, doubled or moved shows.
    private static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ seed) }
    }

    @Test(arguments: [Fault.interrupted, .short], [true, false])
    func largeFramesArriveExactly(fault: Fault, duplex: Bool) throws {
        let (receiver, sender) = try Connection.pipe(duplex: duplex)
        let sizes = [0, 1, 100, 70_000, 1 << 20, 3 << 20 + 17]
        let messages = sizes.enumerated().map { Self.pattern($0.element, seed: $0.offset) }
        let doubles = (0..<300_001).map { Double($0) * 1.25 }
        try FaultInjection.with(transferFaults(fault, every: 2) + [(.poll, 2, .interrupted)]) {
            // Sent from another thread: a large frame fills the pipe before it is read.
            let writer = JoinableThread {
                for message in messages { try sender.sendBytes(message) }
                try sender.send(doubles) // received straight into its array
                try sender.send(Message(id: 7, body: "after", values: [1.5]))
            }
            try writer.start()
            for message in messages { #expect(try receiver.recvBytes() == message) }
            #expect(try receiver.recv([Double].self) == doubles)
            #expect(try receiver.recv(Message.self) == Message(id: 7, body: "after", values: [1.5]))
            try writer.join()
            #expect(FaultInjection.callsCounted(duplex ? .send : .write) >= 2 * messages.count, "the faults were met")
            #expect(FaultInjection.callsCounted(.read) >= 2 * messages.count)
        }
    }

    @Test func nonBlockingTransfersSurviveWouldBlockAndShortCounts() throws {
        let (receiver, sender) = try Connection.pipe()
        let message = Self.pattern(200_000, seed: 3)
        var frame = [UInt8](repeating: 0, count: WireFrame.headerSize) + message
        try FaultInjection.with([(.send, 2, .wouldBlock), (.receive, 3, .wouldBlock), (.read, 2, .short), (.write, 2, .short)]) {
            // What a pool's manager does: write what the socket takes, read what has come.
            try sender.sendFrame(&frame)
            var received: [UInt8]?
            let deadline = ContinuousClock.now + testDeadline
            while received == nil, ContinuousClock.now < deadline {
                _ = try receiver.poll(timeout: .milliseconds(100))
                received = try receiver.receiveAvailable()
            }
            #expect(received == message)
            var pending = ArraySlice(try WireFrame.frame(message))
            while !pending.isEmpty {
                let written = try sender.writeAvailable(pending)
                pending = pending.dropFirst(written)
                if written == 0 { _ = try? Poll.isReady(sender.fileDescriptor, events: Int16(POLLOUT), milliseconds: 100) }
                if let whole = try receiver.receiveAvailable() { #expect(whole == message); received = nil }
            }
            #expect(FaultInjection.callsCounted(.send) >= 2)
        }
    }

    @Test func timedWaitsKeepTheirDeadlineThroughInterruptions() throws {
        let (receiver, sender) = try Connection.pipe()
        try FaultInjection.with([(.poll, 2, .interrupted)]) {
            let start = ContinuousClock.now
            #expect(try !receiver.poll(timeout: .milliseconds(60)))
            #expect(try Connection.wait([receiver], timeout: .milliseconds(60)).isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(120))
            try sender.send(1)
            #expect(try Connection.wait([receiver], timeout: testDeadline).count == 1)
            #expect(try receiver.recv(Int.self) == 1)
        }
    }

    @Test(arguments: [StartMethod.spawn, .forkserver], [Fault.interrupted, .short])
    func childProcessesStartAndReturnExactlyUnderFaults(method: StartMethod, fault: Fault) throws {
        try FaultInjection.with(transferFaults(fault, every: 2) + [
            (.poll, 3, .interrupted), (.wait, 2, .interrupted), (.spawn, 2, .interrupted),
            (.sendDescriptors, 2, .interrupted), (.receiveDescriptors, 2, .interrupted), (.descriptorPair, 2, .interrupted),
        ]) {
            for number in 1...3 {
                let process = ChildProcess(task: Doubler(number: number), startMethod: method)
                try process.start()
                #expect(try process.join(timeout: testDeadline))
                #expect(try process.result() == number * 2)
                #expect(try process.exitCode == 0)
            }
            let big = ChildProcess(task: BigResult(count: 300_000), startMethod: method)
            try big.start()
            #expect(try big.join(timeout: testDeadline))
            #expect(try big.result() == (0..<300_000).map(Double.init))
            #expect(FaultInjection.callsCounted(.spawn) + FaultInjection.callsCounted(.sendDescriptors) >= 2)
        }
    }
}
