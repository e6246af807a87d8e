/// The kernel's count of processes its OOM killer has killed since boot (`oom_kill` in
/// /proc/vmstat, Linux 4.13 and later; memory cgroups' kills included): a worker that died of
/// SIGKILL while it moved, and that no one in this process signalled, was most likely one.
package enum OOMKills {
    /// The count now; nil when the kernel does not say.
    /// Read at each worker's start and at each SIGKILLed worker's end, on the way to its task's
    /// failure: scanned as bytes (splitting the text into lines took about 0.3 ms, a sixth of
    /// the time from a worker's SIGKILL to its task's failure).
    package static func count() -> Int? {
        guard let text = MemoryCgroup.readText("/proc/vmstat") else { return nil }
        return value(of: "oom_kill", in: text)
    }

    /// The number on the line of `text` that starts with `key` and a space (the format of
    /// /proc/vmstat); nil without one.
    package static func value(of key: String, in text: String) -> Int? {
        let prefix = Array(key.utf8) + [UInt8(ascii: " ")]
        var text = text
        return text.withUTF8 { bytes -> Int? in
            var lineStart = 0
            while lineStart + prefix.count <= bytes.count {
                if bytes[lineStart] == prefix[0], (0..<prefix.count).allSatisfy({ bytes[lineStart + $0] == prefix[$0] }) {
                    var index = lineStart + prefix.count, value = 0, digits = 0
                    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                        let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
                        let (sum, overflowSum) = times.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
                        guard !overflowTimes, !overflowSum else { return nil }
                        value = sum
                        digits += 1
                        index += 1
                    }
                    return digits > 0 && (index == bytes.count || bytes[index] == UInt8(ascii: "\n")) ? value : nil
                }
                guard let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                lineStart = newline + 1
            }
            return nil
        }
    }
}
