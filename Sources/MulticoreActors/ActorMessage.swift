import MulticoreProcessing

/// What the program and a host say to each other over the host's connection: every message is
/// one `Connection` frame of this type, and the values inside (arguments, results, errors,
/// an actor's argument) are wire bytes of their own, coded with the actor system at hand.
enum ActorMessage: Codable, Sendable {
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
struct ActorCall: Codable, Sendable {
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

extension ActorMessage {
    /// A message is written as its kind's number, then its fields in order: the synthesized
    /// coding of an enum with payloads writes the case's name and a nested container, which
    /// cost a tenth of a host's time per call.
    private enum Kind: UInt8 { case call, returned, threw, cancel, spawn, spawned, release, shutdown }
    private enum CodingKeys: CodingKey { case kind, call, first, second }

    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        let number = try fields.decode(UInt8.self, forKey: .kind)
        guard let kind = Kind(rawValue: number) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: fields, debugDescription: "no message of kind \(number)")
        }
        switch kind {
        case .call: self = .call(try fields.decode(ActorCall.self, forKey: .first))
        case .returned: self = .returned(call: try fields.decode(UInt64.self, forKey: .call), value: try fields.decode([UInt8].self, forKey: .first))
        case .threw: self = .threw(call: try fields.decode(UInt64.self, forKey: .call), failure: try fields.decode(ActorFailure.self, forKey: .first))
        case .cancel: self = .cancel(call: try fields.decode(UInt64.self, forKey: .call))
        case .spawn:
            self = .spawn(call: try fields.decode(UInt64.self, forKey: .call), typeName: try fields.decode(String.self, forKey: .first),
                          argument: try fields.decodeIfPresent([UInt8].self, forKey: .second))
        case .spawned: self = .spawned(call: try fields.decode(UInt64.self, forKey: .call), actor: try fields.decode(HostedActorID.self, forKey: .first))
        case .release: self = .release(call: try fields.decode(UInt64.self, forKey: .call), actor: try fields.decode(HostedActorID.self, forKey: .first))
        case .shutdown: self = .shutdown
        }
    }

    func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .call(let call):
            try fields.encode(Kind.call.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .first)
        case .returned(let call, let value):
            try fields.encode(Kind.returned.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .call)
            try fields.encode(value, forKey: .first)
        case .threw(let call, let failure):
            try fields.encode(Kind.threw.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .call)
            try fields.encode(failure, forKey: .first)
        case .cancel(let call):
            try fields.encode(Kind.cancel.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .call)
        case .spawn(let call, let typeName, let argument):
            try fields.encode(Kind.spawn.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .call)
            try fields.encode(typeName, forKey: .first)
            try fields.encodeIfPresent(argument, forKey: .second)
        case .spawned(let call, let actor):
            try fields.encode(Kind.spawned.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .call)
            try fields.encode(actor, forKey: .first)
        case .release(let call, let actor):
            try fields.encode(Kind.release.rawValue, forKey: .kind)
            try fields.encode(call, forKey: .call)
            try fields.encode(actor, forKey: .first)
        case .shutdown:
            try fields.encode(Kind.shutdown.rawValue, forKey: .kind)
        }
    }
}
