import CMulticore
import Logging
import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A process pool's workers coming and going, as its manager thread sees them: starting one
/// (its channel, its output pipes, its memory cgroup), reaping one that ended (what it said
/// last, how it ended, for the machine), and stopping them all when the pool has drained.
extension PoolSupervisor {
    /// Drained: every worker is told to stop and is waited for, within bounds: one that does
    /// not stop in 5 s is killed; one whose end is not seen 5 s later is left to the daemon
    /// rule (terminated at exit), never waited for forever.
    func drain(_ outboxes: PoolManagerState) {
        let remaining = lock.withLock { Array(links.values) }
        for link in remaining {
            var stop: [UInt8] = []
            PoolRequest.stop.appendFrame(to: &stop)
            _ = try? link.connection.writeAvailable(stop[...])
        }
        for link in remaining {
            if (try? link.process.join(timeout: .seconds(5))) != true {
                try? link.process.kill()
                _ = try? link.process.join(timeout: .seconds(5))
            }
            link.connection.close()
            link.replies.close()
        }
        lock.withLock {
            links.removeAll()
            machine.workersReleased()
        }
        outboxes.bytes.removeAll()
        for tap in outboxes.taps.values.joined() { tap.finish() } // their last lines, passed on
        outboxes.taps.removeAll()
        outboxes.oomKillsAtStart.removeAll()
        for group in outboxes.cgroups.values { group.remove() }
        outboxes.cgroups.removeAll()
        memory.release()
    }

    /// The send buffer of each end of a worker's channel (the kernel doubles it, within its limit).
    static let channelBuffer = 2 << 20

    /// The capacity of a worker's replies' pipe: what an unprivileged process may ask
    /// (/proc/sys/fs/pipe-max-size), and no more: every pipe of a user counts against its
    /// pipe-user-pages-soft (64 MiB), past which the user's new pipes get one page.
    static let repliesCapacity = 1 << 20

    /// Starts a worker; false when none could be started (the machine then backs off).
    func startWorker(_ state: PoolManagerState) -> Bool {
        let link: PoolWorkerLink
        let streams: WorkerStreams
        let cgroup: MemoryCgroup?
        do {
            let (parentEnd, far) = try Connection.pipe(maxFrameSize: channelFrameLimit)
            defer { far.close() }
            // A large map's chunks and replies are megabytes: each goes at once, while its reader
            // is still busy with the one before.
            parentEnd.allowUnreadBytes(Self.channelBuffer)
            far.allowUnreadBytes(Self.channelBuffer)
            let (replies, repliesFar) = try Connection.pipe(duplex: false, maxFrameSize: channelFrameLimit)
            defer { repliesFar.close() } // the worker's own copy is its only one: its end is seen as end of file
            replies.allowUnreadBytes(Self.repliesCapacity)
            streams = try WorkerStreams(capturingOutput: observation.output != .inherit)
            defer { streams.closeWriteEnds() }
            let worker = PoolWorker(channel: far, replies: repliesFar, initializer: initializer,
                                    standardOutput: streams.output?.write, standardError: streams.error.write)
            let process = ChildProcess(task: worker, name: nil, kind: startMethod.namePrefix + workerKind, daemon: true,
                                       startMethod: startMethod, tapsStandardError: false, logger: nil)
            try process.start()
            do throws(Errno) {
                cgroup = try memory.confine(process.pid ?? 0)
            } catch {
                try? process.kill()
                _ = try? process.join(timeout: .seconds(5))
                throw ProcessError.spawnFailed(errno: error)
            }
            link = PoolWorkerLink(process: process, connection: parentEnd, replies: replies)
        } catch {
            var actions: [PoolAction] = []
            lock.withLock { machine.workerCouldNotStart(reason: "\(error)", now: mc_monotonic_ns(), into: &actions) }
            perform(actions)
            return false
        }
        let id = lock.withLock {
            let id = machine.workerStarted(link.identity, now: mc_monotonic_ns())
            links[id] = link
            return id
        }
        state.taps[id] = streams.taps(observation.destinations(for: link.identity))
        state.oomKillsAtStart[id] = OOMKills.count()
        state.cgroups[id] = cgroup
        observation.log(.debug, "worker started", worker: link.identity, metadata: ["start.method": .string("\(startMethod)")])
        return true
    }

    /// The worker ended: what it sent before it ended counts, then the machine decides.
    func reap(_ worker: PoolMachine.WorkerID, _ link: PoolWorkerLink,
                      _ outboxes: PoolManagerState) {
        collectReplies(worker, link, outboxes)
        _ = try? link.process.join(timeout: .seconds(5))
        var end = WorkerEnd(exitCode: (try? link.process.exitCode) ?? -SIGKILL)
        let taps = outboxes.taps.removeValue(forKey: worker) ?? []
        for tap in taps { tap.finish() }
        if let error = taps.last { // standard error is the last
            end.standardError = error.text
            end.fatalLine = error.fatalLine
        }
        if end.exitCode == -SIGKILL, let before = outboxes.oomKillsAtStart[worker] ?? nil, let after = OOMKills.count() {
            end.oomKilled = after > before
        }
        outboxes.oomKillsAtStart[worker] = nil
        if let group = outboxes.cgroups.removeValue(forKey: worker) {
            if group.oomKills > 0 { end.memoryLimit = memory.limit }
            group.remove()
        }
        var actions: [PoolAction] = []
        lock.withLock { machine.workerExited(worker, end, now: mc_monotonic_ns(), into: &actions) }
        perform(actions, outboxes: outboxes)
    }
}
