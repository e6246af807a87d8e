import CMulticore
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// `mc_gettid` asks the kernel once per thread and keeps the answer (the shared locks name their
/// owner with it on every acquire and release): each thread must still get its own id, and a
/// forked child its own, not the id its parent's thread had kept.
@Suite struct ThreadIdentityTests {
    @Test func eachThreadKeepsItsOwnID() throws {
        let mine = mc_gettid()
        #expect(mine == mc_gettid())
        #expect(mine > 0)
        var other: Int32 = 0
        var thread = pthread_t()
        let started = withUnsafeMutablePointer(to: &other) { pointer in
            pthread_create(&thread, nil, { argument in
                argument!.assumingMemoryBound(to: Int32.self).pointee = mc_gettid()
                return nil
            }, pointer)
        }
        try #require(started == 0)
        pthread_join(thread, nil)
        #expect(other > 0)
        #expect(other != mine)
    }

    @Test func aForkedChildForgetsItsParentThreadsID() throws {
        _ = mc_gettid() // kept by this thread, the one that forks
        let pid = mc_fork()
        if pid == 0 {
            // The child's only thread is its main thread: its id is the child's pid.
            _exit(mc_gettid() == getpid() ? 0 : 1)
        }
        try #require(pid > 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status == 0)
    }
}
