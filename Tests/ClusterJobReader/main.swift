// Fetches the outcomes of durable jobs whose tasks return an Int, by id, from a process of its
// own (not the one that enqueued them):
//   ClusterJobReader URL SCHEMA ID...
// prints "job ID: VALUE" or "job ID failed: ERROR" for each, in order, and exits with 0; with 1
// when it cannot connect or a job is unknown, with 2 when misused.
#if canImport(Glibc)
import Glibc
#endif
import MulticoreCluster

let arguments = CommandLine.arguments
let ids = arguments.dropFirst(3).compactMap { Int64($0) }
guard arguments.count >= 4, ids.count == arguments.count - 3 else {
    print("usage: ClusterJobReader URL SCHEMA ID...")
    exit(2)
}
do {
    let cluster = try await Cluster(url: arguments[1], schema: arguments[2])
    for id in ids {
        do {
            print("job \(id): \(try await cluster.value(of: ClusterJob<Int>(id: id)))")
        } catch let error as ClusterError where error != .unknownJob(id) {
            print("job \(id) failed: \(error)")
        }
    }
    await cluster.shutdown()
} catch {
    print("cannot read the jobs: \(error)")
    exit(1)
}
