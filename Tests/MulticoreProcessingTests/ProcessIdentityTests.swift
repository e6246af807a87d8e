import CMulticore
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// The calling thread's id as the kernel names it: /proc/thread-self links to "PID/task/TID".
private func kernelThreadID() -> Int32 {
    var path = [CChar](repeating: 0, count: 64)
    let length = readlink("/proc/thread-self", &path, path.count - 1)
    guard length > 0 else { return -1 }
    let link = String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return link.split(separator: "/").last.flatMap { Int32($0) } ?? -1
}

/// Remembers its own ids, then forks a child that reports what it is told and what the kernel
/// says: [its pid remembered, its pid, its thread id remembered, its thread id, its pid seen by
/// the parent].
struct ForkedIDs: ProcessTask {
    func run() throws -> [Int32] {
        guard mc_getpid() == getpid(), mc_gettid() == kernelThreadID() else { return [] }
        let child = ChildProcess(forking: { () -> [Int32] in
            [mc_getpid(), getpid(), mc_gettid(), kernelThreadID()]
        })
        try child.start()
        guard try child.join(timeout: .seconds(20)), let pid = child.pid else { return [] }
        return try child.result() + [pid]
    }
}

/// Reports what currentProcess() and parentProcess() say, and optionally the same from a child
/// of its own.
struct IdentityReport: ProcessTask {
    var nested: Bool
    func run() throws -> [String] {
        let me = currentProcess()
        guard let parent = parentProcess() else { return ["no parent"] }
        var report = [me.name, "\(me.pid == getpid())", "\(me.identity)", "\(me.isMain)",
                      "\(parent.pid == getppid())", parent.name, "\(parent.isAlive)", "\(!(try parent.join(timeout: .milliseconds(1))))"]
        if nested {
            let child = ChildProcess(task: IdentityReport(nested: false), name: "grandchild")
            try child.start()
            _ = try child.join(timeout: .seconds(20))
            report += try child.result()
        }
        return report
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessIdentityTests {
    @Test func theMainProcessHasNoParent() {
        let me = currentProcess()
        #expect(me.name == "MainProcess" && me.isMain && me.identity.isEmpty && me.pid == getpid())
        #expect(parentProcess() == nil)
    }

    /// The ids the process-shared locks and queues ask for are remembered per process and per
    /// thread, and a forked child (whose parent had remembered them) asks again: otherwise it
    /// would lock as its parent.
    @Test func processAndThreadIDsAreRememberedAndAForkedChildHasItsOwn() throws {
        #expect(mc_getpid() == getpid() && mc_gettid() == kernelThreadID())
        let other = JoinableThread(name: "ids") { #expect(mc_gettid() == kernelThreadID() && mc_gettid() != getpid()) }
        try other.start()
        try other.join()
        // Forked from a spawned child of the tests: only a process with one thread may fork.
        let child = ChildProcess(task: ForkedIDs())
        try child.start()
        #expect(try child.join(timeout: nestedTestDeadline))
        let ids = try child.result()
        #expect(ids.count == 5, "\(ids)")
        #expect(ids[0] == ids[1] && ids[2] == ids[3], "the forked child's ids: \(ids)")
        #expect(ids[0] == ids[4] && ids[0] != child.pid, "the forked child is not its parent: \(ids)")
    }

    @Test func aChildKnowsItselfAndItsParent() throws {
        let child = ChildProcess(task: IdentityReport(nested: true), name: "reporter")
        try child.start()
        #expect(try child.join(timeout: nestedTestDeadline))
        let report = try child.result()
        #expect(report.count == 16)
        #expect(Array(report.prefix(8)) == ["reporter", "true", "\(child.identityForTests)", "false", "true", "MainProcess", "true", "true"])
        #expect(report[8] == "grandchild" && report[13] == "reporter", "the grandchild's parent is the child")
        // The grandchild's identity extends the child's: [n, 1] for the child [n].
        #expect(report[10] == "\(child.identityForTests + [1])")
    }
}
