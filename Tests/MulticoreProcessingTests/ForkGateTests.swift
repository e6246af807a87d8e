import CMulticore
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

@Suite(.timeLimit(.minutes(5))) struct ForkGateTests {
    /// A helper thread at work (the stderr reader reading, the spawner spawning) holds the fork
    /// back until it is done: a fork copying it mid-work could leave a lock of the Swift runtime
    /// held forever in the child.
    @Test func aForkWaitsUntilAHelperThreadIsDone() throws {
        let working = Event(), finish = Event()
        let order = Locked<[String]>([])
        let helper = JoinableThread(name: "helper") {
            ForkGate.whileWorking {
                working.set()
                _ = try? finish.wait(timeout: testDeadline)
                order.withLock { $0.append("helper done") }
            }
        }
        try helper.start()
        #expect(try working.wait(timeout: testDeadline))
        let forker = JoinableThread(name: "forker") {
            // The child only exits: it runs nothing of this (multithreaded) test process.
            guard let pid = try? ForkGate.fork() else { order.withLock { $0.append("fork failed") }; return }
            if pid == 0 { mc_exit_now(0) }
            order.withLock { $0.append("forked") }
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        try forker.start()
        // The fork is held at the gate (or, were it not, has happened already).
        #expect(eventually { ForkGate.isWaitedForForTests || !order.withLock { $0.isEmpty } })
        finish.set()
        #expect(try helper.join(timeout: testDeadline))
        #expect(try forker.join(timeout: testDeadline))
        #expect(order.withLock { $0 } == ["helper done", "forked"])
    }
}
