import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The forkserver start method: one server process, spawned on first use, forks a worker per
/// child process. Corresponds to Python's `multiprocessing.forkserver`.
///
/// The server never starts a thread, so forking it is safe whatever this process runs. It
/// takes requests on a socket: one byte carrying two descriptors, the worker's channel (which
/// becomes the worker's connection to this process, as for a spawned one) and the write end of
/// a status pipe. On the status pipe it writes the worker's pid (4 bytes) at once, then how it
/// ended (8 bytes: exited flag, code or signal) once it has reaped it: the worker is the
/// server's child, not this process's.
///
/// No orphans: the server dies with this process (it was spawned with PR_SET_PDEATHSIG, and it
/// exits on end-of-file), and every worker dies with the server (the same, set after the fork).
enum ForkServer {
    static let typeName = "multicore.forkserver"

    private static let state = Locked<Connection?>(nil)

    /// Starts a worker whose channel to this process is `channel`; returns its pid and the read
    /// end of its status pipe.
    static func launch(channel: Connection) throws(ProcessError) -> LaunchedChild {
        let (pid, status) = try forkWorker(channel: channel).get()
        return LaunchedChild(pid: pid, exitDescriptor: status, reaping: .statusPipe)
    }

    private static func forkWorker(channel: Connection) -> Result<(pid: pid_t, status: Int32), ProcessError> {
        state.withLock { server in
            for attempt in 0..<2 {
                if server == nil || attempt > 0 {
                    switch start() {
                    case .success(let started): server = started
                    case .failure(let error): return .failure(error)
                    }
                }
                guard let control = server else { continue }
                let status: (read: FileDescriptor, write: FileDescriptor)
                do throws(Errno) { status = try DescriptorPair.pipe() } catch { return .failure(.spawnFailed(errno: error)) }
                let sent = (try? control.sendDescriptors([channel.fileDescriptor, status.write.rawValue])) != nil
                closeDescriptor(status.write.rawValue)
                guard sent else {
                    // The server died (killed from outside): start another one, once.
                    closeDescriptor(status.read.rawValue)
                    server = nil
                    continue
                }
                var pid: Int32 = 0
                guard (try? withUnsafeMutableBytes(of: &pid, { buffer throws(Errno) in try status.read.readExactly(into: buffer) })) == true,
                      pid > 0 else {
                    closeDescriptor(status.read.rawValue)
                    return .failure(.spawnFailed(errno: Errno(rawValue: EAGAIN)))
                }
                return .success((pid, status.read.rawValue))
            }
            return .failure(.spawnFailed(errno: Errno(rawValue: ECHILD)))
        }
    }

    private static func start() -> Result<Connection, ProcessError> {
        let local: Connection, remote: Connection
        do { (local, remote) = try Connection.pipe() } catch { return .failure(.spawnFailed(errno: Errno(rawValue: EMFILE))) }
        // Closed here at once, spawned or not: the handshake below must see the end if the server dies.
        let spawned = Result { () throws(ProcessError) in try SpawnLauncher.spawn(channel: remote) }
        remote.close()
        if case .failure(let error) = spawned { return .failure(error) }
        let request = WorkerRequest(typeName: typeName, processName: "ForkServer", identity: ProcessLineage.identity,
                                    parentPID: getpid(), payload: [])
        guard (try? local.sendDescriptors([])) != nil, (try? local.sendBytes(request.wireBytes)) != nil,
              (try? local.recv(Bool.self)) == true else { return .failure(.spawnFailed(errno: Errno(rawValue: ECHILD))) }
        return .success(local)
    }

    // MARK: The server

    private struct Worker {
        let pid: pid_t
        let status: Int32
        let pidfd: Int32
    }

    /// The server's life, in its own process: fork a worker per request, report how each ended.
    static func serve(_ control: Connection) -> Never {
        signal(SIGINT, SIG_IGN) // a Ctrl-C is for the parent and its workers, not the server
        guard (try? control.send(true)) != nil else { exit(0) }
        var workers: [Worker] = []
        while true {
            var entries = [pollfd(fd: control.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            entries += workers.map { pollfd(fd: $0.pidfd, events: Int16(POLLIN), revents: 0) }
            guard (try? Poll.wait(&entries, milliseconds: -1)) != nil else { exit(1) }
            // Reap the workers that ended, and tell their parents how.
            for (index, entry) in entries.enumerated().dropFirst().reversed() where entry.revents != 0 {
                let worker = workers.remove(at: index - 1)
                if let status = try? ChildWatch.reap(worker.pid) {
                    var report: (Int32, Int32) = (status.exited ? 1 : 0, status.code)
                    _ = withUnsafeBytes(of: &report) { try? FileDescriptor(rawValue: worker.status).writeAll($0) }
                }
                closeDescriptor(worker.status)
                closeDescriptor(worker.pidfd)
            }
            guard entries[0].revents != 0 else { continue }
            guard let table = try? control.receiveDescriptors() else { exit(0) } // the parent is gone
            guard table.descriptors.count == 2 else { continue }
            let channel = table.descriptors[0], status = table.descriptors[1]
            table.descriptors[1] = -1 // the status pipe is the server's to keep (and close)
            let pid = (try? Spawn.forkServerWorker(keeping: channel)) ?? -1
            if pid == 0 {
                // The worker: nothing of the server's but its own channel (the fork closed every
                // other descriptor), and SIGINT back to its default. Closing `control` only marks
                // it closed (its descriptor is gone, and nothing was opened since).
                control.close()
                table.descriptors = []
                WorkerMain.serve(Connection(descriptor: channel, readable: true, writable: true, isSocket: true))
            }
            var pidValue = pid
            _ = withUnsafeBytes(of: &pidValue) { try? FileDescriptor(rawValue: status).writeAll($0) }
            let pidfd = pid > 0 ? (try? ChildWatch.openPidFD(pid)) ?? -1 : -1
            if pidfd >= 0 {
                workers.append(Worker(pid: pid, status: status, pidfd: pidfd))
            } else {
                closeDescriptor(status) // fork failed: the parent reads end-of-file after the pid
            }
            // `table` closes the channel here: the worker has its own copy.
        }
    }
}
