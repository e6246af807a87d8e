import MulticoreProcessing

/// How an `ActorHost` and the calls to its actors fail for reasons of the host's process.
public enum ActorHostError: Error, Sendable, Codable, CustomStringConvertible {
    /// The host's process ended without being shut down (a trap, a signal, an exit): every
    /// call in flight and every later call on its actors throws this.
    case hostDied(ActorHostDeath)
    /// The host was shut down (`ActorHost.shutdown()`, or replaced by `restart()`).
    case hostShutDown(name: String, pid: Int32)
    /// An `ActorHost` was created inside a host's own process: hosts are started by the program.
    case insideHost
    /// `StartMethod.fork` was asked for: a host is a long-lived server with threads of its own,
    /// started by spawn or the fork server.
    case forkCannotStartHost
    /// The host's process served its `maxCallsPerHost` calls and was replaced by a fresh one
    /// (between calls: every call it accepted was answered): a call on one of its actors throws
    /// this. `host.spawn` makes actors in the fresh process.
    case hostRetired(name: String, pid: Int32, calls: Int)
    /// `maxCallsPerHost` must be at least 1.
    case maxCallsNotPositive(Int)
    /// `callerWait` must not be negative.
    case callerWaitNegative(Duration)
    /// `spin` must not be negative.
    case spinNegative(Duration)
    /// The host answered with a message that does not fit the request (a protocol error).
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .hostDied(let death): death.description
        case .hostShutDown(let name, let pid):
            "actor host \(name) (pid \(pid)) was shut down; the actors it held are gone (a restarted host starts with none)"
        case .hostRetired(let name, let pid, let calls):
            "actor host \(name) (pid \(pid)) was retired after serving its \(calls) calls (maxCallsPerHost) and replaced by a fresh process; "
                + "the actors it held are gone, and their state: spawn new ones on the host"
        case .maxCallsNotPositive(let calls): "maxCallsPerHost must be at least 1, not \(calls)"
        case .callerWaitNegative(let wait): "callerWait must be zero or more, not \(wait)"
        case .spinNegative(let spin): "spin must be zero or more, not \(spin)"
        case .insideHost: "an actor host cannot start another host: start hosts from the program"
        case .forkCannotStartHost: "an actor host cannot be started by fork: use .spawn or .forkserver"
        case .unexpectedReply(let what): "the actor host answered with an unexpected message: \(what)"
        }
    }
}

/// How a host's process ended: its name and pid, why it ended, and the end of its stderr.
public struct ActorHostDeath: Sendable, Codable, CustomStringConvertible {
    /// The host's name ("ActorHost-1").
    public let name: String
    /// The host's number (`ActorHost.number`) at the time.
    public let number: UInt32
    /// How its process ended (pid, exit code, `ExitReason`, the last 4 KiB of its stderr).
    public let report: ExitReport

    /// The pid of the process that died.
    public var pid: Int32 { report.worker.pid }
    /// The signal that ended it, if one did.
    public var signal: Int32? { report.exitCode < 0 ? -report.exitCode : nil }

    /// "actor host ActorHost-1 (pid 4242) killed by SIGKILL from another process; the actors
    /// it held are gone, and their state: a restarted host starts with none".
    public var description: String {
        "actor host \(name) (pid \(pid)) \(report.reason); the actors it held are gone, and their state: a restarted host starts with none"
    }
}

/// How a call fails in the process that holds the actor, for reasons of the actor system.
/// It crosses between processes as itself.
public enum HostedActorError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    /// No such actor: it was released (or never existed there).
    case actorNotFound(HostedActorID)
    /// The host found no hosted actor type of that mangled name (a program and a host of
    /// different builds, or a type that is not `HostedActor`).
    case unknownActorType(String)
    /// No process of this program holds that actor's host number (a reference to an actor of
    /// another host, passed to a host: hosts talk to the program only).
    case noRoute(HostedActorID)

    public var description: String {
        switch self {
        case .actorNotFound(let id): "no \(id): it was released"
        case .unknownActorType(let name): "the host knows no hosted actor type named \(name)"
        case .noRoute(let id): "\(id) cannot be reached from this process"
        }
    }
}

/// An error thrown by a distributed func whose type is not `Codable`: its type's name and its
/// description, as the holding process saw them.
public struct RemoteCallError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    /// The error's type, as `String(reflecting:)` names it.
    public let typeName: String
    /// The error's description.
    public let message: String

    public var description: String { "the remote call threw \(typeName): \(message)" }
}
