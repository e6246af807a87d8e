import Testing
#if canImport(Glibc)
import Glibc
#endif
import MulticorePool
import MulticoreProcessing

/// Allocates, fills and frees `megabytes` twice, and returns the page faults of the second time:
/// none when the first one's pages were kept, a fault per page when they were given back.
struct RefaultProbe: ProcessTask {
    var megabytes: Int

    func run() -> Int {
        fill()
        let before = Self.minorFaults()
        fill()
        return Self.minorFaults() - before
    }

    private func fill() {
        let bytes = megabytes << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        _ = memset(buffer, 1, bytes)
        buffer.deallocate()
    }

    private static func minorFaults() -> Int {
        var usage = rusage()
        _ = getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }
}

/// ThreadSanitizer brings its own allocator, which glibc's settings do not reach.
private let underThreadSanitizer = dlsym(nil, "__tsan_init") != nil

@Suite(.timeLimit(.minutes(5))) struct PoolWorkerMemoryTests {
    /// A chunk's buffers are megabytes, allocated and freed for every chunk: a pool worker keeps
    /// their pages (glibc would give blocks this large back, and fault them in again, zeroed).
    @Test(.disabled(if: underThreadSanitizer, "ThreadSanitizer's allocator is not glibc's"))
    func aWorkerReusesTheMemoryOfBuffersItFreed() throws {
        let pool = try Pool(processes: 1)
        defer { pool.terminate() }
        let refaults = try pool.apply(RefaultProbe(megabytes: 16))
        #expect(refaults < 1_000, "16 MB is 4,096 pages: \(refaults) faulted in again")
    }
}
