import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif
import MulticoreTestSupport
@testable import MulticoreProcessing

/// Lowers this process's RLIMIT_NOFILE (soft limit) to `limit`. Only ever called in a child
/// process of the tests: the test runner keeps its own limits.
func lowerDescriptorLimit(to limit: Int) throws {
    var current = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &current) == 0 else { throw ProcessError.spawnFailed(errno: Errno(rawValue: errno)) }
    current.rlim_cur = rlim_t(limit)
    guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &current) == 0 else { throw ProcessError.spawnFailed(errno: Errno(rawValue: errno)) }
}

/// Creates a block (and unlinks it, unless told not to): nil, or what creating it threw.
func creatingABlockFails(name: String? = nil, unlink: Bool = true) -> String? {
    do {
        let block = try SharedMemory(create: 4096, name: name)
        if unlink { try block.unlink() }
        return nil
    } catch {
        return "\(error)"
    }
}

/// In a child of the tests, under RLIMIT_NOFILE `limit`: a spawned child, a fork server child
/// and a shared memory block (whose tracker is a spawned process too). What each gave.
struct UnderDescriptorLimit: ProcessTask {
    var limit: Int
    func run() throws -> [String] {
        try lowerDescriptorLimit(to: limit)
        var seen: [String] = []
        for method in [StartMethod.spawn, .forkserver] {
            let child = ChildProcess(task: Doubler(number: 21), startMethod: method)
            do {
                try child.start()
                guard try child.join(timeout: .seconds(20)) else { seen.append("\(method): timed out"); continue }
                seen.append("\(method): \(try child.result())")
            } catch {
                seen.append("\(method): \(error)")
            }
        }
        seen.append(creatingABlockFails().map { "block: \($0)" } ?? "block")
        return seen
    }
}

/// In a child of the tests: creates a block while a single descriptor is free (enough for the
/// block, not for a connection to a tracker), then again once descriptors are back.
struct TrackerStarved: ProcessTask {
    func run() throws -> [String] {
        try lowerDescriptorLimit(to: 64)
        var held: [Int32] = []
        while true {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd < 0 { break }
            held.append(fd)
        }
        if let last = held.popLast() { close(last) } // exactly one free descriptor
        var seen: [String] = []
        let name = "mc_test_starved_\(getpid())"
        seen.append(creatingABlockFails(name: name, unlink: false) ?? "created \(name)")
        seen.append(access("/dev/shm/" + name, F_OK) == 0 ? "left in /dev/shm" : "not in /dev/shm")
        _ = shm_unlink("/" + name)
        for fd in held { close(fd) }
        seen.append(creatingABlockFails() ?? "created once descriptors were back")
        return seen
    }
}

/// What descriptors this process holds beyond standard input, output and error (the listing's
/// own excepted): "fd -> target".
struct DescriptorLister: ProcessTask {
    func run() -> [String] {
        guard let directory = opendir("/proc/self/fd") else { return ["opendir failed"] }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var found: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            var target = [CChar](repeating: 0, count: 256)
            let length = readlink("/proc/self/fd/\(fd)", &target, target.count - 1)
            let text = length > 0 ? String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            found.append("\(fd) -> \(text)")
        }
        return found.sorted()
    }
}

/// In a child of the tests: opens descriptors that are not close-on-exec (as a launching shell
/// leaves them), then lists what a spawned child and a fork server child hold.
struct LeakyParent: ProcessTask {
    func run() throws -> [[String]] {
        let file = open("/dev/null", O_RDONLY) // no O_CLOEXEC
        var pipeEnds: [Int32] = [-1, -1]
        guard file >= 0, pipe(&pipeEnds) == 0 else { throw ProcessError.spawnFailed(errno: Errno(rawValue: errno)) }
        var lists: [[String]] = []
        for method in [StartMethod.spawn, .forkserver] {
            let child = ChildProcess(task: DescriptorLister(), startMethod: method)
            try child.start()
            guard try child.join(timeout: .seconds(20)) else { throw ProcessError.stillRunning }
            lists.append(try child.result())
        }
        return lists
    }
}

/// In a spawned child of the tests (which may fork): starts its own tracker, then forks a child
/// that creates a block and exits without unlinking it. Whether the block went away once that
/// child ended (while this process, and so its tracker, still runs).
struct ForkedChildCreatesABlock: ProcessTask {
    var name: String
    func run() throws -> Bool {
        let mine = try SharedMemory(create: 4096) // this process's tracker exists from here on
        defer { try? mine.unlink() }
        let name = self.name
        let child = ChildProcess(forking: { () throws -> Int in
            let block = try SharedMemory(create: 4096, name: name)
            return block.size
        })
        try child.start()
        guard try child.join(timeout: .seconds(20)), try child.result() == 4096 else { return false }
        return eventually(within: .seconds(10)) { access("/dev/shm/" + name, F_OK) != 0 }
    }
}

@Suite(.timeLimit(.minutes(5))) struct StarvedResourceTests {
    /// The bootstrap moved its channel to descriptor 100 or above: under a limit of 100 or less
    /// every spawn failed with EINVAL, and the tracker silently did not start.
    @Test func spawnForkServerAndTheTrackerWorkUnderADescriptorLimitOf64() throws {
        let child = ChildProcess(task: UnderDescriptorLimit(limit: 64))
        try child.start()
        #expect(try child.join(timeout: nestedTestDeadline))
        #expect(try child.result() == ["spawn: 42", "forkserver: 42", "block"])
    }

    @Test func aTrackerThatCannotStartIsAnErrorAndNoBlockIsLeft() throws {
        let child = ChildProcess(task: TrackerStarved())
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        let seen = try child.result()
        #expect(seen.count == 3, "\(seen)")
        #expect(seen.first?.hasPrefix("the shared memory tracker could not be started") == true, "\(seen)")
        #expect(seen.dropFirst().first == "not in /dev/shm", "\(seen)")
        #expect(seen.last == "created once descriptors were back", "\(seen)")
    }

    /// Only the channel (a socket) reaches a worker, spawned or forked by the fork server.
    @Test func workersInheritNoDescriptorButTheirChannel() throws {
        let child = ChildProcess(task: LeakyParent())
        try child.start()
        #expect(try child.join(timeout: nestedTestDeadline))
        let lists = try child.result()
        #expect(lists.count == 2)
        for list in lists {
            #expect(list.count == 1 && list.allSatisfy { $0.contains("socket:") }, "\(list)")
        }
    }

    @Test func aForkServerChildTakesSIGINT() throws {
        let child = ChildProcess(task: Sleeper(), startMethod: .forkserver)
        try child.start()
        defer { if (try? child.isAlive) == true { try? child.kill(); _ = try? child.join(timeout: testDeadline) } }
        try child.interrupt()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.exitCode == -SIGINT)
        #expect(exitReport { try child.result() }?.reason == .stoppedByOwner(.interrupt))
    }

    /// Not under ThreadSanitizer: once the spawner thread exists, TSan's own background thread
    /// does too, and the fork start method refuses a process with another thread.
    @Test(.disabled(if: runningUnderThreadSanitizer, "the fork start method refuses TSan's background thread"))
    func aBlockAForkedChildCreatedGoesWithItEvenWhenItsParentHasATracker() throws {
        let name = uniqueBlockName("forked")
        defer { shm_unlink("/" + name) }
        let child = ChildProcess(task: ForkedChildCreatesABlock(name: name))
        try child.start()
        #expect(try child.join(timeout: nestedTestDeadline))
        #expect(try child.result(), "the block outlived the forked child that created it")
    }
}
