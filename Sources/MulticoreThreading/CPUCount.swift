import CMulticore

/// The number of CPUs this process may run on (its affinity mask, so `taskset` and cgroup
/// cpusets are honoured), at least 1. Corresponds to Python's `os.process_cpu_count()`.
public func cpuCount() -> Int {
    Int(mc_cpu_count())
}
