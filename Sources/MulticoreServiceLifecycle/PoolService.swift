import MulticorePool
import ServiceLifecycle

/// A process pool as a `Service` of a swift-service-lifecycle `ServiceGroup`: it runs until the
/// group shuts down, then drains the pool (`shutdown(gracePeriod:)`): the pool stops taking
/// tasks, the running and queued ones have `gracePeriod` to finish, and what is left then is
/// stopped, each of its futures failing with `PoolShutdownError.gracePeriodExpired`. `run()`
/// returns once every worker has exited.
///
/// On the group's cancellation (another service failed, a cancellation signal, or graceful
/// shutdown took longer than the group allows) there is no grace: what runs is stopped at once.
///
/// A group shuts its services down one after the other, the last listed first: list the pool
/// before the services that give it work, so that they stop sending work before it drains.
///
/// ```swift
/// let pool = try ProcessPoolExecutor(maxWorkers: 4)
/// let group = ServiceGroup(services: [PoolService(pool, gracePeriod: .seconds(20)), server],
///                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct PoolService: Service, CustomStringConvertible {
    /// How long running and queued tasks have to finish once the group shuts down gracefully.
    public let gracePeriod: Duration
    private let drain: @Sendable (Duration) async -> Bool
    private let pool: String

    /// A `ProcessPoolExecutor` as a service.
    public init(_ executor: ProcessPoolExecutor, gracePeriod: Duration = .seconds(10)) {
        self.gracePeriod = gracePeriod
        drain = { await executor.shutdown(gracePeriod: $0) }
        pool = "ProcessPoolExecutor"
    }

    /// A `Pool` as a service (it ends closed, or terminated if its grace period ran out).
    public init(_ pool: Pool, gracePeriod: Duration = .seconds(10)) {
        self.gracePeriod = gracePeriod
        drain = { await pool.shutdown(gracePeriod: $0) }
        self.pool = "Pool"
    }

    /// Waits for the group's graceful shutdown (or cancellation), then drains the pool; returns
    /// once its workers are gone.
    public func run() async {
        // Throws only on cancellation: the drain below then has no grace (it sees the cancel).
        try? await gracefulShutdown()
        _ = await drain(gracePeriod)
    }

    /// "PoolService(ProcessPoolExecutor, grace 10 seconds)": its name in the group's logs.
    public var description: String { "PoolService(\(pool), grace \(gracePeriod))" }
}
