import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif
import MulticoreTestSupport
@testable import MulticoreProcessing

/// MainGlobalsExample, built beside the test bundle: a program that links Multicore, whose
/// worker bootstrap the tests below talk to.
func exampleExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = String(decoding: buffer[0..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) + "/MainGlobalsExample"
}

/// Runs `path` with exactly `environment`, `channel` (when given) as its descriptor 3, and its
/// standard output and error into one pipe. (The example's `main` does nothing with the default
/// argument, should the bootstrap ever let it through.) Its exit code (-N for signal N) and what it wrote;
/// killed if it runs past `testDeadline`.
func runWithEnvironment(_ path: String, arguments: [String] = ["probe"], environment: [String],
                        channel: Int32? = nil) throws -> (status: Int32, output: String) {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw ProcessError.spawnFailed(errno: Errno(rawValue: errno)) }
    defer { close(ends[0]) }
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
    posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
    if let channel { posix_spawn_file_actions_adddup2(&actions, channel, 3) }
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    var started = posix_spawn(&pid, path, &actions, nil, argv, envp)
    // A file just written (the set-group-ID copy) can be held open for writing for a moment by
    // a child another test is forking (until its exec closes it): exec then fails with ETXTBSY.
    let retryUntil = ContinuousClock.now + testDeadline
    while started == ETXTBSY && ContinuousClock.now < retryUntil {
        usleep(1_000)
        started = posix_spawn(&pid, path, &actions, nil, argv, envp)
    }
    close(ends[1])
    guard started == 0 else { throw ProcessError.spawnFailed(errno: Errno(rawValue: started)) }
    var output: [UInt8] = []
    let deadline = ContinuousClock.now + testDeadline
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        var entry = pollfd(fd: ends[0], events: Int16(POLLIN), revents: 0)
        let left = deadline - ContinuousClock.now
        if left <= .zero { kill(pid, SIGKILL); break }
        let ready = poll(&entry, 1, Int32(left.components.seconds * 1000 + 1))
        if ready < 0 && errno == EINTR { continue }
        guard ready > 0 else { continue }
        let count = read(ends[0], &chunk, chunk.count)
        if count <= 0 { break }
        output += chunk[0..<count]
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
    return (code, String(decoding: output, as: UTF8.self))
}

/// In a child of the tests: hands `socket`, a connection its parent (the test process) made,
/// to a new process as if it were that process's worker channel. The bootstrap must see that
/// the socket does not come from its parent.
struct HandsOnASocketItDidNotMake: ProcessTask {
    var socket: Connection
    var executable: String
    func run() throws -> [String] {
        let run = try runWithEnvironment(executable, environment: ["MULTICORE_WORKER_FD=3", "MULTICORE_PARENT_PID=\(getpid())"],
                                         channel: socket.fileDescriptor)
        return ["\(run.status)", run.output]
    }
}

/// The one line the bootstrap writes when it refuses, and nothing else (the program's `main`
/// never ran).
func expectRefusal(_ run: (status: Int32, output: String), saying reason: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(run.status == 77, "\(run)", sourceLocation: sourceLocation)
    #expect(run.output.hasPrefix("multicore: not starting as a worker process: \(reason)"), "\(run)", sourceLocation: sourceLocation)
    #expect(run.output.filter { $0 == "\n" }.count == 1 && run.output.hasSuffix("\n"), "\(run)", sourceLocation: sourceLocation)
}

@Suite(.timeLimit(.minutes(5))) struct BootstrapTests {
    /// Set by accident (or by hand), the variable used to end the program with status 2 and no
    /// word, or to make it serve whoever held descriptor 3.
    @Test func aWorkerVariableSetByHandIsRefusedWithOneLine() throws {
        let path = exampleExecutable()
        try #require(access(path, X_OK) == 0, "MainGlobalsExample was not built beside the tests: \(path)")
        expectRefusal(try runWithEnvironment(path, environment: ["MULTICORE_WORKER_FD=3"]),
                      saying: "MULTICORE_PARENT_PID is missing")
        expectRefusal(try runWithEnvironment(path, environment: ["MULTICORE_WORKER_FD=three", "MULTICORE_PARENT_PID=\(getpid())"]),
                      saying: "MULTICORE_WORKER_FD is not a descriptor number")
        expectRefusal(try runWithEnvironment(path, environment: ["MULTICORE_WORKER_FD=3", "MULTICORE_PARENT_PID=1"]),
                      saying: "its parent is process \(getpid()), not 1")
        // Descriptor 3 is a pipe, not a socket from the parent.
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        expectRefusal(try runWithEnvironment(path, environment: ["MULTICORE_WORKER_FD=3", "MULTICORE_PARENT_PID=\(getpid())"],
                                             channel: ends[0]),
                      saying: "descriptor 3 is not a socket from its parent")
    }

    /// A set-group-ID program's environment is its caller's choice: secure_getenv does not
    /// read it, and the program says why it does not run as a worker. (Needs root, to give a
    /// copy of the example a group that is not ours.)
    @Test(.enabled(if: geteuid() == 0, "needs root to make a set-group-ID copy"))
    func aSetGroupIDProgramTakesNoWorkerFromItsEnvironment() throws {
        let source = exampleExecutable()
        try #require(access(source, X_OK) == 0, "MainGlobalsExample was not built beside the tests: \(source)")
        let copy = "/tmp/multicore-setgid-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        defer { unlink(copy) }
        let input = fopen(source, "re"), output = fopen(copy, "we")
        try #require(input != nil && output != nil)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while case let count = fread(&buffer, 1, buffer.count, input), count > 0 { fwrite(buffer, 1, count, output) }
        fclose(input)
        fclose(output)
        let group: gid_t = getgid() == 65_534 ? 65_533 : 65_534
        try #require(chown(copy, uid_t.max, group) == 0 && chmod(copy, 0o2755) == 0)
        expectRefusal(try runWithEnvironment(copy, environment: ["MULTICORE_WORKER_FD=3", "MULTICORE_PARENT_PID=\(getpid())"]),
                      saying: "this program runs set-user-ID or set-group-ID")
    }

    /// The peer of the socket (SO_PEERCRED) must be the parent itself.
    @Test func aSocketFromAnotherProcessIsRefused() throws {
        let path = exampleExecutable()
        try #require(access(path, X_OK) == 0, "MainGlobalsExample was not built beside the tests: \(path)")
        let (mine, theirs) = try Connection.pipe()
        let child = ChildProcess(task: HandsOnASocketItDidNotMake(socket: theirs, executable: path))
        try child.start()
        theirs.close()
        mine.close() // before the fix, the refused process read end-of-file here and exited 2
        #expect(try child.join(timeout: testDeadline))
        let report = try child.result()
        try #require(report.count == 2)
        expectRefusal((Int32(report[0]) ?? 0, report[1]), saying: "the socket on descriptor 3 comes from process \(getpid())")
    }

    /// `_typeByName("$")` crashes the runtime: a name that cannot be a mangled type name is
    /// never looked up, and the parent hears that no such task exists.
    @Test(arguments: ["$", "", "\u{1}\u{2}\u{3}\u{4}\u{5}", "Si", "$sSiD", "multicore.unknown"])
    func aTaskNameThatIsNoTaskIsAnswered(name: String) throws {
        let (local, remote) = try Connection.pipe()
        let pid = try SpawnLauncher.spawn(channel: remote)
        remote.close()
        try local.sendDescriptors([])
        try local.sendBytes(WorkerRequest(typeName: name, processName: "probe", identity: [], parentPID: getpid(), payload: []).wireBytes)
        #expect(try local.poll(timeout: testDeadline))
        #expect((try? WorkerReply(wireBytes: local.recvBytes())) == .unknownTask(name))
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 1, "status \(status)")
    }

    /// A worker's request survives its own encoding, every field, and a request cut short,
    /// padded or of another layout is refused (the worker then exits 2, as when its parent went away).
    @Test func aWorkerRequestRoundTripsAndBadBytesAreRefused() throws {
        let request = WorkerRequest(typeName: "12MulticoreCLI7DoublerV", processName: "SpawnProcess-1:2 é", identity: [1, 2, -3, .max],
                                    parentPID: 4242, payload: Array(0...255), standardError: 3)
        let bytes = request.wireBytes
        #expect(try WorkerRequest(wireBytes: bytes) == request)
        var bare = request
        bare.standardError = nil
        bare.payload = []
        bare.identity = []
        #expect(try WorkerRequest(wireBytes: bare.wireBytes) == bare)
        for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: WireError.self) { try WorkerRequest(wireBytes: Array(bytes.prefix(cut))) }
        }
        #expect(throws: WireError.self) { try WorkerRequest(wireBytes: bytes + [0]) }
        #expect(throws: WireError.self) { try WorkerRequest(wireBytes: [0x00] + bytes.dropFirst()) }
    }

    /// Every shape of task type's name that another process can find passes the check:
    /// nested, generic, in an extension. (A private or local type's name holds the address
    /// of its context in this process, "$55e0856e81fc", which no other process can resolve.)
    @Test func realTaskTypeNamesArePlausible() throws {
        let names = [_mangledTypeName(Doubler.self), _mangledTypeName(GenericTask<[String: Int?]>.self),
                     _mangledTypeName(Outer.Inner.self), _mangledTypeName(GenericTask<Outer.Inner>.self),
                     _mangledTypeName(Outer.Inner.Deeper<Double>.self)]
        for name in names {
            let name = try #require(name)
            #expect(WorkerMain.isPlausibleTypeName(name), "\(name)")
            #expect(WorkerMain.taskType(named: name) != nil, "\(name)")
        }
    }
}

struct GenericTask<T: Codable & Sendable>: ProcessTask { var value: T; func run() -> T { value } }
enum Outer { struct Inner: ProcessTask { func run() -> Int { 1 } } }
extension Outer.Inner { struct Deeper<T: Codable & Sendable>: ProcessTask { var values: [T]; func run() -> Int { values.count } } }
