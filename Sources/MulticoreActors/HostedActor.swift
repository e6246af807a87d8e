import Distributed

/// A `distributed actor` that an `ActorHost` can create in its process:
/// `try await host.spawn(Counter.self)`. The synthesized `init(actorSystem:)` is the one the host
/// calls; for an actor that needs a value to start with, see `HostedActorWithArgument`.
///
///     distributed actor Counter: HostedActor {
///         var value = 0
///         distributed func add(_ n: Int) -> Int { value += n; return value }
///     }
///
/// Its distributed funcs take and return `Codable` values (checked by the compiler); an error
/// they throw reaches the caller as itself when its type is `Codable`, else as
/// `RemoteCallError` (its type's name and description).
public protocol HostedActor: DistributedActor where ActorSystem == ProcessActorSystem {
    init(actorSystem: ProcessActorSystem)
}

/// A `distributed actor` that an `ActorHost` creates with a value:
/// `try await host.spawn(Account.self, argument: 100)`.
///
///     distributed actor Account: HostedActorWithArgument {
///         var balance: Int
///         init(argument: Int, actorSystem: ProcessActorSystem) {
///             self.actorSystem = actorSystem
///             balance = argument
///         }
///     }
public protocol HostedActorWithArgument: DistributedActor where ActorSystem == ProcessActorSystem {
    /// What the actor is created with: encoded in this process, decoded in the host.
    associatedtype Argument: Codable & Sendable
    init(argument: Argument, actorSystem: ProcessActorSystem)
}

extension DistributedActor where ActorSystem == ProcessActorSystem {
    /// Ends the actor's life: the process that holds it lets go of it, and every later call on
    /// any reference to it throws `HostedActorError.actorNotFound`. An actor lives until it is
    /// released or its host shuts down (Swift does not tell a process when the last reference
    /// to one of its actors elsewhere is dropped). On an actor of this process that was never
    /// passed to another, it does nothing more than dropping it would.
    /// - Throws: `HostedActorError.actorNotFound` for an actor already released;
    ///   `ActorHostError.hostDied` and `.hostShutDown` when its host is gone.
    public nonisolated func release() async throws {
        try await actorSystem.release(id)
    }
}
