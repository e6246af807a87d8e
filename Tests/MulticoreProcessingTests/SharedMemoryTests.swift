import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// Writes `text` at the start of the block `name`.
struct BlockWriter: ProcessTask {
    var name: String
    var text: String
    func run() throws -> Int {
        let block = try SharedMemory(attach: name)
        let bytes = Array(text.utf8)
        try block.buffer().copyBytes(from: bytes)
        block.close()
        return bytes.count
    }
}

/// Creates the block `name` and never unlinks it; says so with `ready`, then sleeps until killed
/// (or exits at once when `exitAtOnce`).
struct BlockLeaker: ProcessTask {
    var name: String
    var ready: SharedEvent
    var exitAtOnce: Bool
    func run() throws -> Int {
        let block = try SharedMemory(create: 4096, name: name)
        try block.buffer()[0] = 7
        ready.set()
        if exitAtOnce { return 0 }
        while true { pause() }
    }
}

/// In a child of the tests: leads a process group of its own, creates the block `name` (its
/// tracker starts then), says so with `ready`, and sleeps until a signal ends it.
struct GroupLeaderWithABlock: ProcessTask {
    var name: String
    var ready: SharedEvent
    func run() throws -> Int {
        guard setpgid(0, 0) == 0 else { throw SharedMemoryError.system(operation: "setpgid", errno: Errno(rawValue: errno)) }
        let block = try SharedMemory(create: 4096, name: name)
        try block.buffer()[0] = 1
        ready.set()
        while true { pause() }
    }
}

func shmExists(_ name: String) -> Bool { access("/dev/shm/" + name, F_OK) == 0 }

func uniqueBlockName(_ label: String) -> String {
    "mc_test_\(label)_\(getpid())_\(UInt32.random(in: 0 ... .max))"
}

@Suite(.timeLimit(.minutes(5))) struct SharedMemoryTests {
    @Test func aBlockIsSharedByName() throws {
        let block = try SharedMemory(create: 10_000)
        defer { try? block.unlink() }
        #expect(block.size == 10_000)
        #expect(shmExists(block.name))
        let other = try SharedMemory(attach: block.name)
        #expect(other.size == 10_000)
        try block.buffer()[9_999] = 42
        #expect(try other.buffer()[9_999] == 42)
        #expect(try other.buffer()[0] == 0, "a new block is zeroed")
        other.close()
        #expect(throws: SharedMemoryError.closed) { try other.buffer() }
        other.close() // again: nothing
    }

    @Test func aChildWritesIntoABlockTheParentReads() throws {
        let block = try SharedMemory(create: 64)
        defer { try? block.unlink() }
        let child = ChildProcess(task: BlockWriter(name: block.name, text: "hello from the child"))
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == 20)
        let text = String(decoding: try block.buffer().prefix(20), as: UTF8.self)
        #expect(text == "hello from the child")
    }

    @Test func errorsAreClear() throws {
        #expect(throws: SharedMemoryError.invalidSize(0)) { try SharedMemory(create: 0) }
        #expect(throws: SharedMemoryError.invalidName("a/b")) { try SharedMemory(attach: "a/b") }
        #expect(throws: SharedMemoryError.invalidName("")) { try SharedMemory(attach: "") }
        let missing = uniqueBlockName("missing")
        #expect(throws: SharedMemoryError.notFound(name: missing)) { try SharedMemory(attach: missing) }
        let block = try SharedMemory(create: 16)
        #expect(throws: SharedMemoryError.exists(name: block.name)) { try SharedMemory(create: 16, name: block.name) }
        try block.unlink()
        #expect(!shmExists(block.name))
        #expect(throws: SharedMemoryError.notFound(name: block.name)) { try SharedMemory(attach: block.name) }
        #expect(throws: SharedMemoryError.notFound(name: block.name)) { try block.unlink() }
        #expect(try block.buffer().count == 16, "unlinking leaves this process's mapping")
    }

    @Test(arguments: [false, true])
    func aBlockIsNotLeftBehindWhenItsCreatorEnds(killed: Bool) throws {
        let name = uniqueBlockName(killed ? "killed" : "exited")
        let ready = try SharedEvent()
        let child = ChildProcess(task: BlockLeaker(name: name, ready: ready, exitAtOnce: !killed))
        try child.start()
        #expect(try ready.wait(timeout: testDeadline))
        if killed {
            #expect(shmExists(name))
            try child.kill()
        }
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.exitCode == (killed ? -SIGKILL : 0))
        #expect(eventually { !shmExists(name) }, "the block outlived the process that created it")
    }

    /// A terminal hang-up sends SIGHUP to the whole process group, tracker included: it must
    /// outlive whatever ends its owner that way (SIGKILL too) and unlink the owner's blocks. The
    /// owner leads a group of its own, so that the test process is not signalled.
    @Test(arguments: [SIGHUP, SIGTERM, SIGUSR1, SIGKILL])
    func aBlockIsNotLeftBehindWhenASignalEndsItsCreatorsProcessGroup(signal: Int32) throws {
        let name = uniqueBlockName("group\(signal)")
        defer { shm_unlink("/" + name) }
        let ready = try SharedEvent()
        let child = ChildProcess(task: GroupLeaderWithABlock(name: name, ready: ready))
        try child.start()
        #expect(try ready.wait(timeout: testDeadline))
        let pid = try #require(child.pid)
        try #require(getpgid(pid) == pid && getpgid(0) != pid, "the child leads its own group")
        #expect(shmExists(name))
        #expect(kill(-pid, signal) == 0)
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.exitCode == -signal)
        #expect(eventually { !shmExists(name) }, "the block outlived its creator's process group")
    }

    @Test func sharedObjectsAreUnlinkedWhenTheirCreatorLetsThemGo() throws {
        var name = ""
        do {
            let lock = try SharedLock()
            name = lock.name
            #expect(shmExists(name))
            let attached = try WireDecoder().decode(SharedLock.self, from: WireEncoder().encode(lock))
            #expect(attached.name == name)
        }
        #expect(!shmExists(name))
    }

    @Test func attachingTheWrongKindOfObjectThrows() throws {
        let lock = try SharedLock()
        let bytes = try WireEncoder().encode(lock)
        #expect(throws: SharedMemoryError.self) { try WireDecoder().decode(SharedEvent.self, from: bytes) }
        let doubles = try SharedArray(repeating: 1.5, count: 4)
        #expect(throws: SharedMemoryError.self) {
            try WireDecoder().decode(SharedArray<UInt8>.self, from: WireEncoder().encode(doubles))
        }
        let plain = try SharedMemory(create: 128)
        defer { try? plain.unlink() }
        #expect(throws: SharedMemoryError.self) {
            try WireDecoder().decode(SharedLock.self, from: WireEncoder().encode(plain.name))
        }
    }
}

/// In a child: sets item 0 of `list` to 7 and writes "hi" at the start of `block`; returns
/// item 3 of the list as the child sees it.
struct TouchesSharedThings: ProcessTask {
    var list: ShareableList
    var block: SharedMemory
    func run() throws -> String {
        try list.set(0, to: .int(7))
        let buffer = try block.buffer()
        buffer[0] = UInt8(ascii: "h")
        buffer[1] = UInt8(ascii: "i")
        return "\(list[3])"
    }
}

/// Python's ShareableList and a SharedMemory passed to a child (issue 8).
@Suite(.timeLimit(.minutes(5))) struct ShareableListTests {
    @Test func itemsKeepTheirTypesAndPythonsSizeRules() throws {
        let list = try ShareableList([.int(42), .double(2.5), .bool(true), .string("howdy"), .bytes([1, 2, 3]), .none])
        #expect(list.count == 6)
        #expect(Array(list) == [.int(42), .double(2.5), .bool(true), .string("howdy"), .bytes([1, 2, 3]), .none])
        #expect(try list.item(at: -1) == .none)
        #expect(throws: ShareableListError.indexOutOfRange(6, count: 6)) { try list.item(at: 6) }
        // "howdy" got 8 bytes: a 12-byte string does not fit, an 8-byte one of another type does.
        #expect(throws: ShareableListError.itemTooLarge(index: 3, size: 16, available: 8)) { try list.set(3, to: .string("hello world!")) }
        try list.set(3, to: .string("ok"))
        try list.set(0, to: .string("eightchr"))
        #expect(list[0] == .string("eightchr") && list[3] == .string("ok"))
        try list.set(-2, to: .double(-1))
        #expect(list[4] == .double(-1))
        #expect(list.firstIndex(of: .bool(true)) == 2 && list.occurrences(of: .none) == 1)
        // Another handle on the same block sees the same items; a block of another kind is refused.
        let other = try ShareableList(attach: list.name)
        #expect(Array(other) == Array(list))
        let lock = try SharedLock()
        #expect(throws: SharedMemoryError.self) { try ShareableList(attach: lock.name) }
        #expect(try ShareableList([]).isEmpty)
    }

    @Test func aListAndABlockTravelToAChild() throws {
        let list = try ShareableList([.int(1), .string("x"), .none, .string("from parent")])
        let block = try SharedMemory(create: 16)
        let child = ChildProcess(task: TouchesSharedThings(list: list, block: block))
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == "\"from parent\"")
        #expect(list[0] == .int(7))
        let buffer = try block.buffer()
        #expect(buffer[0] == UInt8(ascii: "h") && buffer[1] == UInt8(ascii: "i"))
    }
}
