import Distributed
import MulticoreProcessing

/// Records a distributed call in the calling process: its generic substitutions (mangled type
/// names) and each argument's wire bytes (actors among them as their ids).
public struct HostedCallEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = Codable
    let system: ProcessActorSystem
    var generics: [String] = []
    var arguments: [[UInt8]] = []

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        guard let name = _mangledTypeName(T.self) else { throw HostedActorError.unknownActorType(String(reflecting: T.self)) }
        generics.append(name)
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        arguments.append(try system.encode(argument.value))
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}
    public mutating func doneRecording() throws {}
}

/// Reads a distributed call back in the process that holds the actor.
public struct HostedCallDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = Codable
    let system: ProcessActorSystem
    let call: ActorCall
    var next = 0

    public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] {
        try call.generics.map { name in
            guard WorkerMain.isPlausibleTypeName(name), let type = _typeByName(name) else { throw HostedActorError.unknownActorType(name) }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard next < call.arguments.count else { throw WireError.truncated(offset: next, needed: 1) }
        defer { next += 1 }
        return try system.decode(Argument.self, from: call.arguments[next])
    }

    public mutating func decodeErrorType() throws -> (any Any.Type)? { nil }
    public mutating func decodeReturnType() throws -> (any Any.Type)? { nil }
}

/// Sends a call's outcome back to its caller.
public struct HostedResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = Codable
    let link: ActorLink
    let call: UInt64

    public func onReturn<Success: Codable>(value: Success) async throws {
        let bytes: [UInt8]
        do {
            bytes = try link.system.encode(value)
        } catch {
            return try await onThrow(error: error)
        }
        link.reply(.returned(call: call, value: bytes))
    }

    public func onReturnVoid() async throws {
        link.reply(.returned(call: call, value: []))
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        link.reply(.threw(call: call, failure: ActorFailure(error)))
    }
}
