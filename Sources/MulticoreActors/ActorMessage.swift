import MulticoreProcessing

/// What the program and a host say to each other over the host's connection: every message is
/// one `Connection` frame, written and read by hand (`ActorMessageCoding.swift`), and the values
/// inside (arguments, results, errors, an actor's argument) are wire bytes of their own, coded
/// with the actor system at hand.
enum ActorMessage: Sendable {
    /// Run a distributed func; answered by `returned` or `threw` with the same call number.
    case call(ActorCall)
    /// A call, spawn or release succeeded: the result's bytes (empty for a `Void` result).
    case returned(call: UInt64, value: [UInt8])
    /// A call, spawn or release failed.
    case threw(call: UInt64, failure: ActorFailure)
    /// The caller stopped waiting for this call: cancel the task that runs it.
    case cancel(call: UInt64)
    /// Create an actor of this mangled type name (with its argument's bytes, if it takes one);
    /// answered by `spawned` or `threw`.
    case spawn(call: UInt64, typeName: String, argument: [UInt8]?)
    /// The actor made for a `spawn`.
    case spawned(call: UInt64, actor: HostedActorID)
    /// Let go of this actor; answered by `returned` (empty) or `threw`.
    case release(call: UInt64, actor: HostedActorID)
    /// The program is done with the host: it exits.
    case shutdown
}

/// One distributed call: the actor, the target (the mangled name of the func's distributed
/// thunk, the same in every process of one binary), generic substitutions (mangled type names)
/// and each argument's bytes.
struct ActorCall: Sendable {
    var number: UInt64
    var actor: HostedActorID
    var target: String
    var generics: [String]
    var arguments: [[UInt8]]
}

/// What a call got back, before it is decoded as the type the caller expects.
enum ActorReply: Sendable {
    case value([UInt8])
    case actor(HostedActorID)
}

/// An error on its way to the caller: a `Codable` error as its mangled type name and its
/// bytes (rebuilt as itself), any other as `RemoteCallError`.
struct ActorFailure: Codable, Sendable {
    var typeName: String
    var payload: [UInt8]?
    var message: String

    init(_ error: any Error) {
        typeName = String(reflecting: type(of: error))
        message = String(describing: error)
        if let codable = error as? any Error & Encodable, let name = _mangledTypeName(type(of: codable)) {
            typeName = name
            payload = try? WireEncoder().encode(codable)
        }
    }

    /// The error to throw: itself when its type is found and its bytes decode, else
    /// `RemoteCallError`. Only plausible mangled names of `Error & Decodable` types are looked
    /// up (the peer is this program's own child or parent, running the same binary).
    var error: any Error {
        if let payload, WorkerMain.isPlausibleTypeName(typeName),
           let type = _typeByName(typeName) as? any (Error & Decodable).Type,
           let error = try? Self.decode(type, payload) {
            return error
        }
        return RemoteCallError(typeName: payload == nil ? typeName : _typeByName(typeName).map { String(reflecting: $0) } ?? typeName,
                               message: message)
    }

    private static func decode<E: Error & Decodable>(_ type: E.Type, _ bytes: [UInt8]) throws -> E {
        try WireDecoder().decode(E.self, from: bytes)
    }
}

