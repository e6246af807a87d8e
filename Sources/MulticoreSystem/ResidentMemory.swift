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
