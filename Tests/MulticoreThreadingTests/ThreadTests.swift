import SystemPackage
import CMulticore
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MulticoreThreading

@Suite struct ThreadTests {
    @Test func startRunsTheTargetAndJoinWaits() throws {
        let ran = Event()
        let thread = JoinableThread(daemon: true) { ran.set() }
        #expect(!thread.isAlive)
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(ran.isSet)
        #expect(!thread.isAlive)
        #expect(thread.error == nil)
    }

    @Test func startTwiceThrows() throws {
        let thread = JoinableThread(daemon: true) {}
        try thread.start()
        #expect(throws: ThreadingError.alreadyStarted) { try thread.start() }
        #expect(try thread.join(timeout: testDeadline))
        #expect(throws: ThreadingError.alreadyStarted) { try thread.start() }
    }

    @Test func joinBeforeStartThrows() {
        let thread = JoinableThread(daemon: true) {}
        #expect(throws: ThreadingError.joinBeforeStart) { try thread.join(timeout: .zero) }
    }

    @Test func joiningYourselfThrows() throws {
        let thread = JoinableThread(daemon: true) {
            #expect(throws: ThreadingError.joinCurrentThread) { try Threading.currentThread.join(timeout: .zero) }
        }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        // The test runner's threads were not started by Multicore: they are dummies, as in Python.
        #expect(throws: ThreadingError.joinDummyThread) { try Threading.currentThread.join(timeout: .zero) }
    }

    @Test func joinTimesOutWhileRunningAndAnyNumberMayJoin() throws {
        let release = Event()
        let worker = try spawn { try release.wait(timeout: testDeadline) }
        #expect(try !worker.join(timeout: .milliseconds(10)))
        #expect(try !worker.join(timeout: .seconds(-1)), "a negative timeout counts as zero")
        #expect(worker.isAlive)
        let joiners = try (0..<4).map { _ in try spawn { () throws in #expect(try worker.join(timeout: testDeadline)) } }
        release.set()
        for joiner in joiners { #expect(try joiner.join(timeout: testDeadline)) }
        #expect(!worker.isAlive)
    }

    @Test func subclassOverridingRun() throws {
        final class Squarer: JoinableThread, @unchecked Sendable { // `result` is written before finish, read after join
            let input: Int
            var result = 0
            init(_ input: Int) { self.input = input; super.init(daemon: true) }
            override func run() throws { result = input * input }
        }
        let thread = Squarer(12)
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(thread.result == 144)
    }

    @Test func errorIsKeptAndPassedToTheHook() throws {
        struct Failure: Error, Equatable { let code: Int }
        let thread = JoinableThread(name: "hooked-thread", daemon: true) { throw Failure(code: 7) }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(thread.error as? Failure == Failure(code: 7))
    }

    @Test func valueThreadReturnsItsValueOrError() throws {
        struct Failure: Error {}
        let gate = Event()
        let thread = ValueThread(daemon: true) { () throws -> [Int] in
            try gate.wait(timeout: testDeadline)
            return [1, 2, 3]
        }
        #expect(throws: ThreadingError.notFinished) { try thread.value() }
        try thread.start()
        #expect(throws: ThreadingError.notFinished) { try thread.value() }
        gate.set()
        #expect(try thread.join(timeout: testDeadline))
        #expect(try thread.value() == [1, 2, 3])

        let failing = ValueThread<Int>(daemon: true) { throw Failure() }
        try failing.start()
        #expect(try failing.join(timeout: testDeadline))
        #expect(throws: Failure.self) { try failing.value() }
    }

    @Test func defaultNamesAreNumberedThreadN() throws {
        let first = JoinableThread {}
        let second = JoinableThread {}
        func number(_ thread: JoinableThread) -> Int? {
            guard thread.name.hasPrefix("Thread-") else { return nil }
            return Int(thread.name.dropFirst("Thread-".count))
        }
        let a = try #require(number(first))
        let b = try #require(number(second))
        #expect(b > a)
        #expect(JoinableThread(name: "worker") {}.name == "worker")
        // Python: `name or _newname()`.
        let unnamed = try #require(number(JoinableThread(name: "") {}))
        #expect(unnamed > b)
    }

    @Test func nameIsSetAsTheOSThreadNameTruncatedTo15Bytes() throws {
        let observed = Recorder<String>()
        let thread = JoinableThread(name: "a-rather-long-thread-name", daemon: true) {
            var buffer = [CChar](repeating: 0, count: 32)
            _ = mc_thread_getname(pthread_self(), &buffer, buffer.count)
            observed.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(observed.items == ["a-rather-long-t"])

        let renamed = Recorder<String>()
        let go = Event()
        let second = JoinableThread(name: "before", daemon: true) {
            try go.wait(timeout: testDeadline)
            var buffer = [CChar](repeating: 0, count: 32)
            _ = mc_thread_getname(pthread_self(), &buffer, buffer.count)
            renamed.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        try second.start()
        second.name = "after-é-ü-ö-x" // multi-byte characters are not cut in half
        go.set()
        #expect(try second.join(timeout: testDeadline))
        #expect(second.name == "after-é-ü-ö-x")
        #expect(renamed.items == ["after-é-ü-ö-"])
    }

    @Test func identAndNativeID() throws {
        let inside = Recorder<UInt>()
        let tids = Recorder<Int32>()
        let gate = Event()
        let thread = JoinableThread(daemon: true) {
            inside.append(Threading.getIdent())
            tids.append(Threading.getNativeID())
            try gate.wait(timeout: testDeadline)
        }
        #expect(thread.ident == nil)
        #expect(thread.nativeID == nil)
        try thread.start()
        let nativeID = try #require(thread.nativeID)
        #expect(nativeID != Threading.getNativeID())
        gate.set()
        #expect(try thread.join(timeout: testDeadline))
        #expect(inside.items == [thread.ident!])
        #expect(tids.items == [nativeID])
    }

    @Test func daemonFlagRules() throws {
        let thread = JoinableThread(daemon: false) {}
        #expect(!thread.daemon)
        try thread.setDaemon(true)
        #expect(thread.daemon)
        try thread.start()
        #expect(throws: ThreadingError.daemonAfterStart) { try thread.setDaemon(false) }
        #expect(try thread.join(timeout: testDeadline))
        #expect(throws: ThreadingError.daemonAfterStart) { try thread.setDaemon(false) }
    }

    @Test(arguments: [false, true])
    func daemonFlagIsInheritedFromTheCreatingThread(parentIsDaemon: Bool) throws {
        let inherited = Recorder<Bool>()
        let parent = JoinableThread(daemon: parentIsDaemon) {
            inherited.append(JoinableThread {}.daemon)
        }
        try parent.start()
        #expect(try parent.join(timeout: testDeadline))
        #expect(inherited.items == [parentIsDaemon])
        // Threads Multicore did not start are daemons (Python's dummy threads), so their
        // children are too.
        #expect(JoinableThread {}.daemon == Threading.currentThread.daemon)
    }

    @Test func currentThreadInsideAMulticoreThread() throws {
        let seen = Recorder<Bool>()
        let thread = JoinableThread(daemon: true) { seen.append(Threading.currentThread === Threading.currentThread) }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(seen.items == [true])
    }

    @Test func mainThreadIsNamedMainThread() {
        let main = Threading.mainThread
        #expect(main.name == "MainThread")
        #expect(main.isAlive)
        #expect(!main.daemon)
        #expect(main.nativeID == getpid())
        #expect(Threading.enumerate().contains { $0 === main })
        #expect(throws: ThreadingError.alreadyStarted) { try main.start() }
    }

    @Test func foreignThreadGetsADummyThatLeavesWhenItEnds() throws {
        final class Slot: @unchecked Sendable { var thread: JoinableThread?; var registered = false } // written by the foreign thread before pthread_join
        let slot = Slot()
        var handle = pthread_t()
        let context = Unmanaged.passRetained(slot).toOpaque()
        #expect(pthread_create(&handle, nil, { context in
            let slot = Unmanaged<Slot>.fromOpaque(context!).takeRetainedValue()
            let current = Threading.currentThread
            slot.thread = current
            slot.registered = Threading.enumerate().contains { $0 === current }
            return nil
        }, context) == 0)
        #expect(pthread_join(handle, nil) == 0)
        let dummy = try #require(slot.thread)
        #expect(dummy.name.hasPrefix("Dummy-"))
        #expect(dummy.daemon)
        #expect(slot.registered)
        #expect(throws: ThreadingError.joinDummyThread) { try dummy.join(timeout: .zero) }
        #expect(!dummy.isAlive, "the OS thread ended, so its dummy left the registry")
        #expect(!Threading.enumerate().contains { $0 === dummy })
    }

    @Test func activeCountAndEnumerateTrackLiveThreads() throws {
        let release = Event()
        let threads = try (0..<3).map { _ in try spawn { try release.wait(timeout: testDeadline) } }
        let live = Threading.enumerate()
        for thread in threads { #expect(live.contains { $0 === thread }) }
        #expect(Threading.activeCount() >= 4)
        release.set()
        for thread in threads { #expect(try thread.join(timeout: testDeadline)) }
        let after = Threading.enumerate()
        for thread in threads { #expect(!after.contains { $0 === thread }) }
    }

    /// A thread nobody joins is released when it ends (and its OS thread detached), like a
    /// dropped Rust JoinHandle; a joined one is released when its last reference goes.
    @Test func threadsAreReleasedWhetherJoinedOrNot() throws {
        weak var unjoined: JoinableThread?
        weak var joined: JoinableThread?
        let ended = Event()
        do {
            let thread = JoinableThread(daemon: true) { ended.set() }
            try thread.start()
            unjoined = thread
        }
        #expect(try ended.wait(timeout: testDeadline))
        #expect(eventually { unjoined == nil })
        do {
            let thread = JoinableThread(daemon: true) {}
            try thread.start()
            #expect(try thread.join(timeout: testDeadline))
            joined = thread
        }
        #expect(joined == nil)
    }

    @Test func perThreadStackSize() throws {
        let sizes = Recorder<Int>()
        let thread = JoinableThread(daemon: true, stackSize: 256 * 1024) {
            sizes.append(Int(mc_current_thread_stack_size()))
        }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        // glibc may hand out a cached stack up to 4 times larger than asked (another test's);
        // the default 8 MiB stack would be far larger.
        let size = try #require(sizes.items.first)
        #expect(size >= 256 * 1024 && size <= 1024 * 1024)
        #expect(throws: ThreadingError.invalidStackSize(1000)) {
            try JoinableThread(daemon: true, stackSize: 1000) {}.start()
        }
    }

    @Test func refusedThreadThrowsAndCanBeStartedAgain() throws {
        // A 64 TiB stack cannot be mapped: pthread_create fails with EAGAIN.
        let refused = JoinableThread(daemon: true, stackSize: 1 << 46) {}
        #expect(throws: ThreadingError.cannotStartThread(errno: Errno(rawValue: EAGAIN))) { try refused.start() }
        #expect(!refused.isAlive)
        #expect(!Threading.enumerate().contains { $0 === refused }, "a refused thread is not registered")
        #expect(throws: ThreadingError.joinBeforeStart) { try refused.join(timeout: .zero) }
        #expect(throws: ThreadingError.cannotStartThread(errno: Errno(rawValue: EAGAIN)), "the refusal is not a start") {
            try refused.start()
        }
    }

    @Test func descriptionLooksLikePythonsRepr() throws {
        let thread = JoinableThread(name: "reprd", daemon: true) {}
        #expect(thread.description == "<Thread(reprd, initial daemon)>")
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(thread.description.hasPrefix("<Thread(reprd, stopped daemon "))
        // A subclass is named as itself, as Python's repr does (`self.__class__.__name__`).
        final class Downloader: JoinableThread, @unchecked Sendable {} // adds no state
        #expect(Downloader(name: "dl", daemon: false).description == "<Downloader(dl, initial)>")
        #expect(ValueThread<Int>(name: "v", daemon: false) { 1 }.description == "<ValueThread<Int>(v, initial)>")
    }
}

/// Settings that are process-wide, so their tests run one at a time.
@Suite(.serialized) struct ThreadGlobalsTests {
    @Test func stackSizeIsValidatedAndApplied() throws {
        #expect(throws: ThreadingError.invalidStackSize(1024)) { try Threading.stackSize(1024) }
        let previous = try Threading.stackSize(512 * 1024)
        defer { _ = try? Threading.stackSize(previous) }
        #expect(try Threading.stackSize() == 512 * 1024)
        let sizes = Recorder<Int>()
        let thread = JoinableThread(daemon: true) {
            sizes.append(Int(mc_current_thread_stack_size()))
        }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        // glibc may reuse a cached stack up to 4 times the size asked for.
        let size = try #require(sizes.items.first)
        #expect(size >= 512 * 1024 && size <= 2 * 1024 * 1024)
    }

    @Test func customExcepthookReceivesTheErrorAndThread() throws {
        struct HookedFailure: Error {}
        let seen = Recorder<String>()
        let previous = Threading.excepthook
        Threading.excepthook = { arguments in
            if arguments.error is HookedFailure { seen.append(arguments.thread.name) }
            else { previous(arguments) }
        }
        defer { Threading.excepthook = previous }
        let thread = JoinableThread(name: "hook-target", daemon: true) { throw HookedFailure() }
        try thread.start()
        #expect(try thread.join(timeout: testDeadline))
        #expect(seen.items == ["hook-target"])
    }
}
