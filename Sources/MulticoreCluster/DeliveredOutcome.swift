import MulticoreProcessing
import PostgresNIO

extension DeliveredOutcome {
    /// The node process that recorded it, as a future's worker (`ClusterNode@host`, its pid).
    var worker: WorkerIdentity? {
        guard state != TaskOutcome.cancelled, errorType != "NodeLost" else { return nil }
        return pid.map { WorkerIdentity(pid: $0, name: "ClusterNode@\(host ?? "?")") }
    }

    /// What a finished row means for its task: the decoded output, or why there is none. `task`
    /// names the task's type in an undecodable result's error.
    func outcome<Output: Decodable>(as _: Output.Type, task: String) -> Result<Output, ClusterError> {
        switch state {
        case TaskOutcome.succeeded:
            do {
                return .success(try WireDecoder().decode(Output.self, from: result.map { Array(buffer: $0) } ?? []))
            } catch {
                return .failure(.undecodableResult(type: task, reason: String(describing: error)))
            }
        case TaskOutcome.cancelled:
            return .failure(.cancelled)
        default:
            if errorType == "NodeLost" { return .failure(.nodeLost(attempts: Int(attempt), message: errorMessage ?? "")) }
            return .failure(.taskFailed(type: errorType ?? "", message: errorMessage ?? "", host: host ?? "", pid: pid ?? 0,
                                        attempt: Int(attempt)))
        }
    }
}
