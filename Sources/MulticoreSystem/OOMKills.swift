/// The kernel's count of processes its OOM killer has killed since boot (`oom_kill` in
/// /proc/vmstat, Linux 4.13 and later; memory cgroups' kills included): a worker that died of
/// SIGKILL while it moved, and that no one in this process signalled, was most likely one.
package enum OOMKills {
    /// The count now; nil when the kernel does not say.
    package static func count() -> Int? {
        guard let text = MemoryCgroup.readText("/proc/vmstat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count))
        }
        return nil
    }
}
