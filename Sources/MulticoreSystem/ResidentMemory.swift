#if canImport(Glibc)
import Glibc
#endif

/// A process's resident memory (its resident set size, from /proc/PID/statm), in bytes; nil
/// when it cannot be read (the process is gone).
package func residentMemory(of pid: Int32) -> Int? {
    guard let text = MemoryCgroup.readText("/proc/\(pid)/statm") else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A process's proportional set size in bytes: the sum of the Pss lines of /proc/PID/smaps_rollup
/// (each page shared with other processes counted as its share); nil when it cannot be read.
package func proportionalSetSize(of pid: Int32) -> Int? {
    guard let text = MemoryCgroup.readText("/proc/\(pid)/smaps_rollup") else { return nil }
    var kilobytes: Int?
    for line in text.split(separator: "\n") where line.hasPrefix("Pss:") {
        guard let value = Int(line.dropFirst(4).filter(\.isNumber)) else { return nil }
        kilobytes = (kilobytes ?? 0) + value
    }
    return kilobytes.map { $0 * 1_024 }
}
