/// The identity of an actor of a `ProcessActorSystem`: which process of the program holds it
/// and its number there. What a remote proxy carries, and what crosses between processes when
/// an actor is passed as an argument or returned.
public struct HostedActorID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The process that holds the actor: 0 for the program that started the hosts, N for its
    /// host number N (`ActorHost.number`; a restarted host gets a new number).
    public let process: UInt32
    /// The actor's number in that process (from 1).
    public let serial: UInt64

    public init(process: UInt32, serial: UInt64) {
        self.process = process
        self.serial = serial
    }

    private enum CodingKeys: String, CodingKey { case process, serial }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        process = try container.decode(UInt32.self, forKey: .process)
        serial = try container.decode(UInt64.self, forKey: .serial)
    }

    /// Encodes the id; an actor encoded as an argument or a result (its system in `userInfo`)
    /// is kept alive by its process from then on, until released.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(process, forKey: .process)
        try container.encode(serial, forKey: .serial)
        noteSent(by: encoder)
    }

    public var description: String {
        process == 0 ? "actor \(serial) of the program" : "actor \(serial) of host \(process)"
    }
}
