import Distributed
import MulticoreProcessing
import MulticoreThreading

/// The `DistributedActorSystem` of actors hosted in child processes of this program
/// (`ActorHost`): one per process, `ProcessActorSystem.shared`. In the program it routes a call
/// on a remote actor to the host that holds it; in a host, to the program. Both serve calls: an
/// actor of the program passed to a host can be called back from there.
///
/// An actor of this system lives while its process holds it: a host holds the actors it spawned,
/// and any actor of its own once a reference to it has been sent to another process, until the
/// actor is released (`release()`) or the host shuts down. Swift does not tell a process when
/// another drops its last reference to one of its actors, so nothing is freed behind the
/// caller's back, and nothing is kept after `release()`.
public final class ProcessActorSystem: DistributedActorSystem, @unchecked Sendable { // every mutable field is guarded by `lock`
    public typealias ActorID = HostedActorID
    public typealias SerializationRequirement = Codable
    public typealias InvocationEncoder = HostedCallEncoder
    public typealias InvocationDecoder = HostedCallDecoder
    public typealias ResultHandler = HostedResultHandler

    /// The system of this process.
    public static let shared = ProcessActorSystem()

    private let lock = Lock()
    /// This process's number in `HostedActorID.process`: 0 in the program, its own in a host.
    private var process: UInt32 = 0
    private var nextSerial: UInt64 = 0
    /// Every actor of this process, weakly (an actor is the program's to keep).
    private var actors: [HostedActorID: WeakActor] = [:]
    /// The actors this process keeps alive until released: a host's spawned actors, and the
    /// actors of this process whose references were sent to another.
    private var kept: [HostedActorID: any DistributedActor] = [:]
    /// The links to other processes: in the program, one per host by its number; in a host,
    /// the one to the program (0).
    private var links: [UInt32: ActorLink] = [:]
    /// Why the hosts that are gone are gone: what a call on one of their actors throws.
    private var gone: [UInt32: any Error] = [:]
    /// The numbers of this program's hosts, from 1.
    private var lastHost: UInt32 = 0
    /// The signatures of the targets this process has run calls on.
    private let signatures = TargetSignatures()

    private init() {}

    // MARK: Identity and lifetime

    public func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, Act.ID == ActorID {
        let (local, actor) = lock.briefly { (id.process == process, actors[id]?.actor) }
        // Another process's actor: the runtime makes a remote proxy, whose calls come to `remoteCall`.
        guard local else { return nil }
        guard let actor = actor as? Act else { throw HostedActorError.actorNotFound(id) }
        return actor
    }

    public func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, Act.ID == ActorID {
        lock.briefly {
            nextSerial += 1
            return HostedActorID(process: process, serial: nextSerial)
        }
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorID {
        lock.briefly { actors[actor.id] = WeakActor(actor) }
    }

    public func resignID(_ id: ActorID) {
        lock.briefly { _ = actors.removeValue(forKey: id) }
    }

    /// Keeps the actor of this process that `id` names alive until it is released: its
    /// reference is on its way to another process.
    func keep(_ id: HostedActorID) {
        lock.briefly {
            guard id.process == process, kept[id] == nil, let actor = actors[id]?.actor else { return }
            kept[id] = actor
        }
    }

    /// Lets go of an actor: here if it is this process's, else in the process that holds it.
    func release(_ id: HostedActorID) async throws {
        let local = lock.briefly { id.process == process }
        if local {
            // The actor is let go of outside the lock: its deinit resigns its id, which takes it.
            let (held, actor): ((any DistributedActor)?, (any DistributedActor)?) = lock.briefly {
                (self.kept.removeValue(forKey: id), self.actors[id]?.actor)
            }
            guard held != nil || actor != nil else { throw HostedActorError.actorNotFound(id) }
            return
        }
        let reply = try await route(id).request { .release(call: $0, actor: id) }
        guard case .value = reply else { throw ActorHostError.unexpectedReply("\(reply) to a release") }
    }

    /// How many actors this process holds alive until released (for tests).
    var keptCount: Int { lock.briefly { kept.count } }

    // MARK: Calling

    public func makeInvocationEncoder() -> InvocationEncoder {
        HostedCallEncoder(system: self)
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder, throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: Codable {
        let bytes = try await call(actor.id, target: target, invocation)
        return try decode(Res.self, from: bytes)
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        _ = try await call(actor.id, target: target, invocation)
    }

    private func call(_ id: HostedActorID, target: RemoteCallTarget, _ invocation: InvocationEncoder) async throws -> [UInt8] {
        let link = try route(id)
        let reply = try await link.request { number in
            .call(ActorCall(number: number, actor: id, target: target.identifier, generics: invocation.generics,
                            arguments: invocation.arguments))
        }
        guard case .value(let bytes) = reply else { throw ActorHostError.unexpectedReply("\(reply) to a call") }
        return bytes
    }

    /// The link to the process that holds `id`: in a host, always the program's.
    func route(_ id: HostedActorID) throws -> ActorLink {
        try lock.briefly { () throws -> ActorLink in
            if process != 0, let link = links[0] { return link }
            if let link = links[id.process] { return link }
            if let reason = gone[id.process] { throw reason }
            throw HostedActorError.noRoute(id)
        }
    }

    // MARK: Serving

    /// Runs a call that came from `link` on an actor of this process, and answers it; a call
    /// for another host's actor (a reference the program passed on) is passed to that host.
    func execute(_ call: ActorCall, for link: ActorLink) async {
        let handler = HostedResultHandler(link: link, call: call.number)
        do {
            let (local, actor) = lock.briefly { (call.actor.process == process, actors[call.actor]?.actor) }
            if !local {
                let reply = try await route(call.actor).request { number in
                    var forwarded = call
                    forwarded.number = number
                    return .call(forwarded)
                }
                guard case .value(let bytes) = reply else { throw ActorHostError.unexpectedReply("\(reply) to a call") }
                return link.reply(.returned(call: call.number, value: bytes))
            }
            guard let actor else { throw HostedActorError.actorNotFound(call.actor) }
            var decoder = HostedCallDecoder(system: self, call: call)
            if let signature = signatures.signature(of: call.target) {
                return await execute(signature, on: actor, decoder: &decoder, handler: handler)
            }
            try await executeDistributedTarget(on: actor, target: RemoteCallTarget(call.target), invocationDecoder: &decoder,
                                               handler: handler)
        } catch {
            try? await handler.onThrow(error: error)
        }
    }

    /// Creates an actor of the type `typeName` names, keeps it, and answers with its id.
    func spawnHere(_ typeName: String, argument: [UInt8]?, call: UInt64, for link: ActorLink) {
        do {
            guard WorkerMain.isPlausibleTypeName(typeName), let type = _typeByName(typeName) else {
                throw HostedActorError.unknownActorType(typeName)
            }
            let actor: any DistributedActor
            if let argument, let type = type as? any HostedActorWithArgument.Type {
                actor = try make(type, argument: argument)
            } else if argument == nil, let type = type as? any HostedActor.Type {
                actor = type.init(actorSystem: self)
            } else {
                throw HostedActorError.unknownActorType(typeName)
            }
            let id = actor.id as! HostedActorID // swiftlint:disable:this force_cast (both protocols fix the system, whose ID this is)
            lock.briefly { kept[id] = actor }
            link.reply(.spawned(call: call, actor: id))
        } catch {
            link.reply(.threw(call: call, failure: ActorFailure(error)))
        }
    }

    private func make<A: HostedActorWithArgument>(_ type: A.Type, argument: [UInt8]) throws -> A {
        A(argument: try decode(A.Argument.self, from: argument), actorSystem: self)
    }

    /// Lets go of an actor of this process for another, and answers.
    func releaseHere(_ id: HostedActorID, call: UInt64, for link: ActorLink) {
        // Let go of outside the lock: the actor's deinit resigns its id, which takes it.
        let actor = lock.briefly { kept.removeValue(forKey: id) }
        let found = actor != nil
        link.reply(found ? .returned(call: call, value: []) : .threw(call: call, failure: ActorFailure(HostedActorError.actorNotFound(id))))
    }

    // MARK: Values

    /// The wire bytes of an argument or a result; an actor among them travels as its id, and
    /// an actor of this process is then kept until released.
    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let bytes = ScalarValues.bytes(of: value) { return bytes }
        return try WireEncoder().encode(value, userInfo: [.actorSystemKey: self])
    }

    /// Decodes an argument or a result; an actor among them becomes this process's actor or a
    /// remote proxy.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let value = try ScalarValues.value(type, from: bytes) { return value }
        return try WireDecoder().decode(type, from: bytes, userInfo: [.actorSystemKey: self])
    }

    // MARK: Hosts and links

    /// In the program: a number for a new host.
    func newHostNumber() throws -> UInt32 {
        try lock.briefly { () throws -> UInt32 in
            guard process == 0 else { throw ActorHostError.insideHost }
            lastHost += 1
            return lastHost
        }
    }

    /// Adds the link to a process (a host, or the program from a host).
    func add(_ link: ActorLink) {
        lock.briefly { links[link.peer] = link }
    }

    /// Removes a host's link, remembering why it is gone, for the calls still to come on its actors.
    func remove(_ link: ActorLink, because reason: any Error) {
        lock.briefly {
            if links[link.peer] === link { links[link.peer] = nil }
            gone[link.peer] = reason
        }
    }

    /// In a host's process: this process is host `number`, and talks to the program over
    /// `incoming` and `outgoing`.
    func becomeHost(_ number: UInt32, incoming: Connection, outgoing: Connection, executor: (any TaskExecutor)?) -> ActorLink {
        let link = ActorLink(incoming: incoming, outgoing: outgoing, system: self, peer: 0, executor: executor)
        lock.briefly {
            process = number
            links = [0: link]
        }
        return link
    }
}

/// An actor held weakly.
private final class WeakActor {
    weak var actor: (any DistributedActor)?
    init(_ actor: any DistributedActor) { self.actor = actor }
}

extension HostedActorID {
    /// An actor's id is encoded by its `encode(to:)` with this system in `userInfo`: the actor
    /// is then on its way to another process, and kept alive here until released.
    func noteSent(by encoder: any Encoder) {
        (encoder.userInfo[.actorSystemKey] as? ProcessActorSystem)?.keep(self)
    }
}
