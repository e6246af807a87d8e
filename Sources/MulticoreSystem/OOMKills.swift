import SystemPackage

/// The kernel's count of processes its OOM killer has killed since boot (`oom_kill` in
/// /proc/vmstat, Linux 4.13 and later; memory cgroups' kills included): a worker that died of
/// SIGKILL while it moved, and that no one in this process signalled, was most likely one.
package enum OOMKills {
    /// The count now; nil when the kernel does not say.
    package static func count() -> Int? {
        guard let file = try? FileDescriptor.open("/proc/vmstat", .readOnly, options: .closeOnExec) else { return nil }
        defer { try? file.close() }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = (try? buffer.withUnsafeMutableBytes { try file.readSome(into: $0) }) ?? 0
            guard count > 0 else { break }
            text.append(contentsOf: buffer[..<count])
        }
        let key = Array("\noom_kill ".utf8)
        guard let start = text.firstRange(of: key)?.upperBound else { return nil }
        var value = 0
        for byte in text[start...] {
            guard byte >= 0x30, byte <= 0x39 else { break }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}
