import Testing
@testable import MulticorePool
import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading

/// A pool's paths (spawning workers, the manager's poll, its non-blocking sends and receives,
/// reaping) under injected EINTR, EAGAIN and short transfers: every result must be exact.
@Suite(.serialized, .timeLimit(.minutes(5))) struct FaultInjectionPoolTests {
    @Test(arguments: [Fault.interrupted, .short, .wouldBlock])
    func aProcessPoolMapIsExactUnderFaults(fault: Fault) throws {
        let transfers: [(SystemCall, every: Int, Fault)] = [(.read, 2, fault), (.write, 2, fault), (.send, 2, fault), (.receive, 2, fault)]
        try FaultInjection.with(transfers + [(.poll, 3, .interrupted), (.wait, 2, .interrupted), (.spawn, 2, .interrupted),
                                             (.sendDescriptors, 2, .interrupted), (.receiveDescriptors, 2, .interrupted)]) {
            let pool = try ProcessPoolExecutor(maxWorkers: 2)
            defer { pool.shutdown() }
            let results = try pool.map((0..<300).lazy.map { Twice(value: $0) }, bufferSize: 16).collect()
            #expect(results == (0..<300).map { $0 * 2 })
            let large = try pool.submit(Repeat(count: 200_000)).result(timeout: testDeadline)
            #expect(large == [Int](repeating: 7, count: 200_000))
            let touched = [SystemCall.send, .receive, .read, .write].map(FaultInjection.callsCounted).reduce(0, +)
            #expect(touched >= 4, "the faults were met")
        }
    }
}

/// `count` sevens: a reply larger than a socket buffer.
struct Repeat: ProcessTask {
    var count: Int
    func run() -> [Int] { [Int](repeating: 7, count: count) }
}
