#if canImport(Glibc)
import Glibc
#endif
import MulticoreProcessing
import MulticoreThreading

/// How long any wait in the tests may take before the test fails instead of hanging: a hang
/// fails the test instead of stalling CI. Its first use installs `childReaper`.
///
/// Suites carry 5-minute time limits, a second net: on 2 cores under ThreadSanitizer, tests
/// that block (joins, exit tests, the soak) can hold both threads of the cooperative pool for
/// a minute, and the async tests waiting behind them are charged for it.
public let testDeadline: Duration = {
    _ = childReaper
    return .seconds(20)
}()

/// How long a test waits for a child that itself waits up to `testDeadline` (or 20 s) for a child
/// of its own: longer than the inner wait, so that a slowed child reports what it saw, and a
/// hung grandchild is named by the child, instead of both waits ending together.
public let nestedTestDeadline: Duration = testDeadline * 3

/// At exit a process waits for its non-daemon children, as Python does. A test that failed
/// may leave one blocked forever (the peer it waited for gave up): the run would then never
/// end. So, first thing at exit, children get 10 s to end on their own; any still running is
/// named on stderr and SIGKILLed, and the process exits with status 70: the run fails, loudly.
let childReaper: Void = Threading.registerAtExit(first: true) {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline, activeChildren().contains(where: { !$0.daemon }) { usleep(10_000) }
    let left = activeChildren().filter { !$0.daemon }
    guard !left.isEmpty else { return }
    for child in left {
        guard let pid = child.pid else { continue }
        let text = Array("test process \(getpid()) exiting: killed child \(child.name) (pid \(pid)), left running by a test\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        kill(pid, SIGKILL)
    }
    fflush(nil)
    _exit(70)
}

/// Polls (bounded) until `condition` holds: for states nothing announces, such as "the other
/// thread is now blocked inside wait".
public func eventually(within limit: Duration = testDeadline, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        usleep(200)
    }
    return true
}

/// Polls (bounded) until `condition` holds, sleeping without holding a thread: the tasks under
/// test need the few threads of the cooperative pool (two on two cores).
public func eventually(within limit: Duration = testDeadline, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return true
}

/// Open descriptors of this process.
public func openDescriptorCount() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while readdir(directory) != nil { count += 1 }
    return count - 3 // ".", ".." and the directory's own descriptor
}

/// Whether `pid` has ended: no such process, or a zombie nobody reaped yet.
public func processIsGone(_ pid: pid_t) -> Bool {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return true }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // The state follows the command name, which is in parentheses.
    guard let close = line.lastIndex(of: ")") else { return false }
    let state = line[line.index(after: close)...].drop { $0 == " " }.first
    return state == "Z" || state == "X"
}

/// Children of this process that ended and were never reaped.
public func zombieChildCount() -> Int {
    guard let directory = opendir("/proc") else { return -1 }
    defer { closedir(directory) }
    let me = getpid()
    var zombies = 0
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard let pid = Int32(name), let file = fopen("/proc/\(pid)/stat", "r") else { continue }
        var buffer = [CChar](repeating: 0, count: 512)
        let read = fgets(&buffer, Int32(buffer.count), file) != nil
        fclose(file)
        guard read else { continue }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = line.lastIndex(of: ")") else { continue }
        let fields = line[line.index(after: close)...].split(separator: " ")
        if fields.count > 1, fields[0] == "Z", Int32(fields[1]) == me { zombies += 1 }
    }
    return zombies
}

/// A task that returns nothing (a `ProcessAction`): adds `amount` to `counter`, under its lock.
public struct AddToCounter: ProcessAction {
    public var counter: SharedValue<Int>
    public var amount: Int
    public init(counter: SharedValue<Int>, amount: Int) {
        self.counter = counter
        self.amount = amount
    }
    public func run() throws { try counter.withLock { $0 += amount } }
}

/// The line an exit test's process writes on stdout when its check passed.
public let exitTestPassed = "exit test: ok"

/// Ends the process of an exit test that counted something in a process of its own. It always
/// exits with status 0 and says on stdout what happened: `exitTestPassed`, or "`label`: `failure`"
/// (a thrown error included). A failing status would hide the message: `#expect(processExitsWith:)`
/// returns no result when the status does not match. The test checks the output with
/// `exitTestFailure`.
public func exitReporting(_ failure: @autoclosure () throws -> String?, as label: String) -> Never {
    let line: String
    do {
        line = try failure().map { "\(label): \($0)" } ?? exitTestPassed
    } catch {
        line = "\(label): threw \(error)"
    }
    let bytes = Array("\n\(line)\n".utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    exit(0)
}

/// What an exit test ended by `exitReporting` said went wrong (its last line on stdout), or nil
/// when it passed. Nil output (the process did not exit with 0: already recorded as a failed
/// expectation) gives nil too.
public func exitTestFailure(_ standardOutput: [UInt8]?) -> String? {
    guard let standardOutput else { return nil }
    let lines = String(decoding: standardOutput, as: UTF8.self).split(separator: "\n")
    guard let last = lines.last else { return "the exit test said nothing" }
    return last == exitTestPassed ? nil : String(last)
}
