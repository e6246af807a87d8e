// Every public name of Multicore must work unqualified next to the modules a Linux Swift program
// imports anyway: a name that clashes with one of theirs (Glibc has a `Semaphore`) breaks the
// build of this target. A new public type belongs in the lists below.
import Dispatch
import Foundation
import Glibc
import Multicore
import MulticoreActors
import MulticoreCluster
import MulticoreListener
import MulticoreServiceLifecycle
import Testing

/// One property of each public type, so that every name is looked up as a type (the lookup
/// that was ambiguous for `Semaphore`, while `Semaphore(value:)` as an expression was not).
private struct EveryPublicType {
    // MulticoreThreading
    var t0: (AsCompleted<Int>)?
    var t1: (Barrier)?
    var t2: (BlockingQueue<FIFOBuffer<Int>>)?
    var t3: (BoundedSemaphore)?
    var t4: (BrokenBarrierError)?
    var t5: (Condition)?
    var t6: (Event)?
    var t7: (ExceptHookArguments)?
    var t8: (ExecutorError)?
    var t9: (FIFOBuffer<Int>)?
    var t10: (Future<Int>)?
    var t11: (FutureError)?
    var t12: (Futures)?
    var t13: (LIFOBuffer<Int>)?
    var t14: (LifoQueue<Int>)?
    var t15: (Lock)?
    var t16: (MapResults<IndexingIterator<[Int]>, Int>)?
    var t17: (PriorityBuffer<Int>)?
    var t18: (PriorityQueue<Int>)?
    var t19: (Queue<Int>)?
    var t20: (any QueueBuffer)?
    var t21: (QueueError)?
    var t22: (RLock)?
    var t23: (ReturnWhen)?
    var t24: (CountingSemaphore)?
    var t25: (SimpleQueue<Int>)?
    var t26: (ThreadLocal<Int>)?
    var t27: (ThreadPoolExecutor)?
    var t28: (Threading)?
    var t29: (ThreadingError)?
    var t30: (TimerThread)?
    var t31: (ValueThread<Int>)?
    var t32: (JoinableThread)?
    // MulticoreProcessing
    var t33: (ChildProcess<ForkClosure<Int>>)?
    var t34: (any ChildProcessHandle)?
    var t35: (Connection)?
    var t36: (ConnectionError)?
    var t37: (CurrentProcess)?
    var t38: (ForkClosure<Int>)?
    var t39: (OwnerDiedError)?
    var t40: (ParentProcess)?
    var t41: (ProcessError)?
    var t42: (ProcessJoinableQueue<Int>)?
    var t43: (ProcessQueue<Int>)?
    var t44: (ProcessSimpleQueue<Int>)?
    var t45: (any ProcessTask)?
    var t46: (SharedArray<Int>)?
    var t47: (SharedBarrier)?
    var t48: (SharedBoundedSemaphore)?
    var t49: (SharedCondition)?
    var t50: (SharedEvent)?
    var t51: (SharedLock)?
    var t52: (SharedMemory)?
    var t53: (SharedMemoryError)?
    var t54: (SharedRLock)?
    var t55: (SharedSemaphore)?
    var t56: (SharedValue<Int>)?
    var t57: (StartMethod)?
    var t58: (WireDecoder)?
    var t59: (WireEncoder)?
    var t60: (WireError)?
    var t61: (WireFrame)?
    var t62: (WireFrameReader)?
    var t91: (any PlainData)?
    // MulticorePool
    var t63: (AsyncResult<Int>)?
    var t64: (Pool)?
    var t65: (PoolCompletion<Int>)?
    var t66: (PoolCompletions<[ForkClosure<Int>]>)?
    var t67: (PoolConfigurationError)?
    var t68: (PoolError)?
    var t69: (PoolOutputs<[ForkClosure<Int>]>)?
    var t70: (PoolResults<IndexingIterator<[Int]>, Int>)?
    var t72: (PoolStateError)?
    var t73: (ProcessPoolExecutor)?
    var t76: (ResultIterator<Int>)?
    var t77: (NoOutput)?
    var t78: (any ProcessAction)?
    var t79: (any Waitable)?
    var t80: (ShareableList)?
    var t81: (ShareableItem)?
    var t82: (ShareableListError)?
    var t83: (any TaskPool)?
    // MulticoreListener
    var t84: (Listener)?
    var t85: (Client)?
    var t86: (ListenerAddress)?
    var t87: (AuthenticationError)?
    var t88: (FrameFormat)?
    var t89: (FrameHeader)?
    var t90: (BufferTooShort)?
    var t75: (PoolFeed<IndexingIterator<[ForkClosure<Int>]>>)?
    var t74: (ThreadPool)?
    var t92: (WorkerIdentity)?
    var t93: (ExitReason)?
    var t94: (ExitReport)?
    var t95: (WorkerOutput)?
    var t96: (PoolStats)?
    var t97: (PoolShutdownError)?
    // MulticoreServiceLifecycle
    var t98: (PoolService)?
    // MulticoreActors
    var t99: (ActorHost)?
    var t100: (ActorHostError)?
    var t101: (ActorHostDeath)?
    var t102: (HostedActorError)?
    var t103: (RemoteCallError)?
    var t104: (HostedActorID)?
    var t105: (ProcessActorSystem)?
    var t106: (HostedCallEncoder)?
    var t107: (HostedCallDecoder)?
    var t108: (HostedResultHandler)?
    var t109: (any HostedActor)?
    var t110: (any HostedActorWithArgument)?
    var t122: (ActorManager)?
    var t123: (ManagedDictionary<String, Int>)?
    var t124: (ManagedList<Int>)?
    var t125: (ManagedValue<Int>)?
    var t126: (ManagedQueue<Int>)?
    var t127: (ManagedLock)?
    var t128: (ManagedEvent)?
    var t129: (ManagedError)?
    // MulticoreCluster
    var t111: (Cluster)?
    var t112: (ClusterDatabase)?
    var t113: (ClusterError)?
    var t114: (ClusterLimits)?
    var t115: (ClusterNode)?
    var t116: (ClusterJob<Int>)?
    var t117: (ClusterJobStatus<Int>)?
    var t118: (ClusterJobStart)?
    var t119: (ClusterOutputs<[ForkClosure<Int>]>)?
    var t120: (ClusterCompletions<[ForkClosure<Int>]>)?
    var t121: (ClusterStatus)?
    var t130: (any ClusterRetryingTask)?
}

@Suite struct UnqualifiedNamesTests {
    @Test func everyPublicTypeIsUsableUnqualified() {
        let properties = Mirror(reflecting: EveryPublicType()).children.map { String(reflecting: type(of: $0.value)) }
        #expect(properties.count == 130)
        // Each name found Multicore's type, not a namesake (Glibc's `Semaphore` is a pointer).
        for name in properties {
            #expect(name.hasPrefix("Swift.Optional<Multicore") || name.hasPrefix("Swift.Optional<any Multicore"), "\(name)")
        }
    }

    /// The list above is complete: every type declared public at the top level of Sources/.
    @Test func theListNamesEveryPublicType() throws {
        let listed = Mirror(reflecting: EveryPublicType()).children.map { String(reflecting: type(of: $0.value)) }.joined(separator: " ")
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        let declaration = /^(?:public|open)\s+(?:final\s+)?(?:class|struct|enum|protocol|typealias|actor|distributed\s+actor)\s+([A-Za-z_][A-Za-z0-9_]*)/.anchorsMatchLineEndings()
        var names: Set<String> = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: declaration) { names.insert(String(match.1)) }
        }
        #expect(names.count > 70, "found \(names.count) public types under \(sources.path)")
        for name in names.sorted() {
            // Type aliases reflect as what they name (`Queue<Int>` is a BlockingQueue).
            let aliases = ["Queue": "BlockingQueue<", "LifoQueue": "BlockingQueue<", "PriorityQueue": "BlockingQueue<"]
            #expect(listed.contains("." + name + ">") || listed.contains("." + name + "<") || listed.contains(aliases[name] ?? "\u{0}"),
                    "\(name) is public: add it to EveryPublicType")
        }
    }

    @Test func everyPublicFunctionIsUsableUnqualified() throws {
        #expect(cpuCount() >= 1)
        #expect(getStartMethod() == .spawn || getStartMethod() == .forkserver || getStartMethod() == .fork)
        #expect(currentProcessName() == currentProcess().name)
        #expect(parentProcessID() == nil, "the test runner is no Multicore child")
        _ = parentProcess()
        _ = activeChildren()
        sleep(for: .zero)
        _ = setStartMethod as (StartMethod, Bool) throws -> Void
        _ = enterWorkerIfChild as () -> Void // not called: it would hand this runner's workers to its main
        // The names Python programmers reach for first, constructed.
        let semaphore: CountingSemaphore = try CountingSemaphore(value: 1)
        func take(_ semaphore: CountingSemaphore, _ bounded: BoundedSemaphore) -> Bool { semaphore !== bounded }
        #expect(take(semaphore, try BoundedSemaphore(value: 1)))
        #expect(try semaphore.acquire(timeout: .zero))
        let lock = Lock()
        #expect(lock.withLock { true })
        let event = Event()
        event.set()
        #expect(event.isSet)
    }
}
