import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A memory cgroup this process made under its own (cgroup v2, or v1's memory controller),
/// with a limit: the kernel kills a process in it that goes over (its OOM killer, confined to
/// the group), and counts the kills. What a pool's `memoryLimit` puts each worker in.
package struct MemoryCgroup: Sendable {
    /// The folder, e.g. /sys/fs/cgroup/memory/<this process's group>/multicore-4242-1.
    package let path: String
    let version: Int

    /// This process's own memory cgroup: (its folder, the cgroup version); nil when this
    /// system has none that can be found.
    static func own() -> (path: String, version: Int)? {
        guard let table = readText("/proc/self/cgroup") else { return nil }
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let relative = String(fields[2])
            if fields[1].split(separator: ",").contains("memory") {
                return ("/sys/fs/cgroup/memory" + relative, 1)
            }
            if fields[0] == "0", fields[1].isEmpty {
                for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                    let folder = root + relative
                    if readText(folder + "/cgroup.controllers")?.split(separator: " ").contains(where: { $0.hasPrefix("memory") }) == true {
                        return (folder, 2)
                    }
                }
            }
        }
        return nil
    }

    /// Makes the group `name` under this process's own, or under `parent` when given.
    /// - Throws: `Errno` (EACCES, EROFS: no right to; ENOENT: no memory cgroup here).
    package static func make(_ name: String, under parent: MemoryCgroup? = nil) throws(Errno) -> MemoryCgroup {
        let base: (path: String, version: Int)
        if let parent { base = (parent.path, parent.version) } else {
            guard let own = own() else { throw Errno.noSuchFileOrDirectory }
            base = own
        }
        let path = base.path + "/" + name
        _ = try SystemCall.files.perform { negatedErrno(mkdir(path, 0o755)) }
        if base.version == 2 {
            // A v2 group's controllers are those its parent gives its children.
            try? write("+memory", to: base.path + "/cgroup.subtree_control")
        }
        return MemoryCgroup(path: path, version: base.version)
    }

    /// Sets its limit, swap included (no swap is used over it).
    package func limit(to bytes: Int) throws(Errno) {
        if version == 2 {
            try Self.write(String(bytes), to: path + "/memory.max")
            try? Self.write("0", to: path + "/memory.swap.max")
        } else {
            try Self.write(String(bytes), to: path + "/memory.limit_in_bytes")
            try? Self.write(String(bytes), to: path + "/memory.memsw.limit_in_bytes")
        }
    }

    /// Moves process `pid` into it.
    package func add(_ pid: Int32) throws(Errno) {
        try Self.write(String(pid), to: path + "/cgroup.procs")
    }

    /// How many processes the kernel killed in it for going over its limit.
    package var oomKills: Int {
        let file = version == 2 ? "/memory.events" : "/memory.oom_control"
        guard let text = Self.readText(path + file) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// Removes it (it must hold no process: those it held have ended and been reaped).
    package func remove() {
        _ = try? SystemCall.files.perform { negatedErrno(rmdir(path)) }
    }

    package static func readText(_ path: String) -> String? {
        guard let file = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return nil }
        defer { try? file.close() }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = (try? buffer.withUnsafeMutableBytes { try file.readSome(into: $0) }) ?? 0
            guard count > 0 else { break }
            text.append(contentsOf: buffer[..<count])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Writes `text` to the control file `path` as one command (see `writeCommand`).
    static func write(_ text: String, to path: String) throws(Errno) {
        let opened = Result { try FileDescriptor.open(path, .writeOnly, options: .closeOnExec) }
        guard case .success(let file) = opened else {
            if case .failure(let error as Errno) = opened { throw error }
            throw Errno.ioError
        }
        defer { try? file.close() }
        let written = Array(text.utf8).withUnsafeBytes { bytes in Result { () throws(Errno) in try file.writeCommand(bytes) } }
        try written.get()
    }
}
