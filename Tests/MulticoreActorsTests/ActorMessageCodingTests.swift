@testable import MulticoreActors
import MulticoreProcessing
import MulticoreTestSupport
import Testing

/// The messages between the program and a host, written and read by hand.
@Suite struct ActorMessageCodingTests {
    static let actor = HostedActorID(process: 3, serial: 0x0102_0304_0506_0708)

    static let every: [ActorMessage] = [
        .call(ActorCall(number: 1, actor: actor, target: "$s4main7CounterC3addyS2iYaKFTE", generics: ["Si", "SS"],
                        arguments: [[1, 2, 3], [], Array(repeating: 9, count: 300)])),
        .call(ActorCall(number: .max, actor: actor, target: "", generics: [], arguments: [])),
        .returned(call: 2, value: [7, 7]),
        .returned(call: 3, value: []),
        .threw(call: 4, failure: ActorFailure(HostedActorError.actorNotFound(actor))),
        .cancel(call: 5),
        .spawn(call: 6, typeName: "4main7CounterC", argument: nil),
        .spawn(call: 7, typeName: "4main7CounterC", argument: [0, 1]),
        .spawned(call: 8, actor: actor),
        .release(call: 9, actor: actor),
        .shutdown,
    ]

    /// A frame's payload: what follows the room for its header.
    static func payload(_ message: ActorMessage) throws -> [UInt8] {
        Array(try message.frame().dropFirst(WireFrame.headerSize))
    }

    @Test func everyKindOfMessageReadsBackAsWritten() throws {
        for message in Self.every {
            let bytes = try Self.payload(message)
            let read = try ActorMessage(payload: bytes)
            #expect(try Self.payload(read) == bytes, "\(message)")
        }
        guard case .call(let call) = try ActorMessage(payload: Self.payload(Self.every[0])) else {
            Issue.record("a call read back as another kind")
            return
        }
        #expect(call.number == 1 && call.actor == Self.actor && call.target == "$s4main7CounterC3addyS2iYaKFTE")
        #expect(call.generics == ["Si", "SS"] && call.arguments == [[1, 2, 3], [], Array(repeating: 9, count: 300)])
        guard case .spawn(_, _, let argument) = try ActorMessage(payload: Self.payload(Self.every[7])), argument == [0, 1] else {
            Issue.record("a spawn's argument did not read back")
            return
        }
        guard case .threw(_, let failure) = try ActorMessage(payload: Self.payload(Self.every[4])),
              case HostedActorError.actorNotFound(let id)? = failure.error as? HostedActorError else {
            Issue.record("a failure did not read back as its error")
            return
        }
        #expect(id == Self.actor)
    }

    @Test func aMessageCutShortAnywhereIsRefusedAsTruncated() throws {
        for message in Self.every {
            let bytes = try Self.payload(message)
            for length in 0 ..< bytes.count {
                #expect(throws: WireError.self, "\(message) cut to \(length) bytes") { try ActorMessage(payload: Array(bytes.prefix(length))) }
            }
        }
    }

    @Test func trailingBytesAnUnknownKindAndANameThatIsNotUTF8AreRefused() throws {
        #expect(throws: WireError.trailingBytes(1)) { try ActorMessage(payload: Self.payload(.cancel(call: 1)) + [0]) }
        var unknown = try Self.payload(.cancel(call: 1))
        unknown[0] = 200
        #expect(throws: WireError.self) { try ActorMessage(payload: unknown) }
        // A spawn of the type named "ab", then that name's second byte made invalid UTF-8.
        var badName = try Self.payload(.spawn(call: 1, typeName: "ab", argument: nil))
        badName[1 + 8 + 4 + 1] = 0xFF
        #expect(throws: WireError.self) { try ActorMessage(payload: badName) }
        // A length that claims more than the message holds is refused before anything is read.
        var huge = try Self.payload(.returned(call: 1, value: [1]))
        huge.replaceSubrange(9 ..< 13, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: WireError.self) { try ActorMessage(payload: huge) }
    }
}

/// Numbers, flags and strings as arguments and results: their bare bytes.
@Suite struct ScalarValuesTests {
    func roundTrip<T: Equatable>(_ value: T) throws -> T? {
        guard let bytes = ScalarValues.bytes(of: value) else { return nil }
        return try ScalarValues.value(T.self, from: bytes)
    }

    @Test func eachScalarReadsBackAsWritten() throws {
        #expect(try roundTrip(Int.min) == Int.min)
        #expect(try roundTrip(Int64(-7)) == -7)
        #expect(try roundTrip(UInt64.max) == UInt64.max)
        #expect(try roundTrip(Int32.min) == Int32.min)
        #expect(try roundTrip(UInt32(42)) == 42)
        #expect(try roundTrip(UInt(9)) == 9)
        #expect(try roundTrip(-0.25) == -0.25)
        #expect(try roundTrip(Double.nan).map(\.isNaN) == true)
        #expect(try roundTrip(true) == true && roundTrip(false) == false)
        #expect(try roundTrip("héllo, 世界") == "héllo, 世界")
        #expect(try roundTrip("") == "")
        #expect(ScalarValues.bytes(of: Int.max) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
    }

    @Test func otherTypesAreLeftToTheGenericCoder() throws {
        #expect(ScalarValues.bytes(of: [1, 2]) == nil)
        #expect(ScalarValues.bytes(of: Optional(1)) == nil)
        #expect(try ScalarValues.value([Int].self, from: []) == nil)
        #expect(try ScalarValues.value(Int?.self, from: [1, 0, 0, 0, 0, 0, 0, 0]) == nil)
    }

    @Test func bytesThatCannotBeTheTypeAreRefused() {
        #expect(throws: WireError.truncated(offset: 7, needed: 1)) { try ScalarValues.value(Int.self, from: [1, 2, 3, 4, 5, 6, 7]) }
        #expect(throws: WireError.trailingBytes(1)) { try ScalarValues.value(UInt32.self, from: [1, 2, 3, 4, 5]) }
        #expect(throws: WireError.self) { try ScalarValues.value(Bool.self, from: [2]) }
        #expect(throws: WireError.self) { try ScalarValues.value(String.self, from: [0xC3]) }
    }
}

/// Target names that are not a distributed func's.
@Suite struct TargetSignaturesTests {
    @Test func aNameTheRuntimeCannotReadGetsNoSignatureAndIsNotKept() {
        let signatures = TargetSignatures()
        for name in ["", "x", "$s", String(repeating: "\u{FF}", count: 300)] {
            #expect(signatures.signature(of: name) == nil, "\(name.prefix(20))")
        }
        #expect(signatures.keptCount == 0)
    }

    /// A made-up name that demangles well gets a signature (whether its func exists is found
    /// when it is called), so made-up names must not grow the table past its limit.
    @Test func madeUpNamesNeverGrowTheTablePastItsLimit() {
        let signatures = TargetSignatures()
        var made = 0
        for index in 0 ..< TargetSignatures.limit + 50 {
            let module = "m\(index)"
            if signatures.signature(of: "$s\(module.utf8.count)\(module)7CounterC3addyS2iYaKFTE") != nil { made += 1 }
        }
        #expect(made == TargetSignatures.limit + 50)
        #expect(signatures.keptCount == TargetSignatures.limit)
    }
}

/// A call whose target names no distributed func of this binary (a corrupt or foreign message).
@Suite struct UnknownTargetTests {
    @Test func aCallOfAFuncThatDoesNotExistIsAnsweredWithAnError() async throws {
        let sink = Sink.local()
        let (peerReads, linkWrites) = try Connection.pipe(duplex: false)
        let (linkReads, peerWrites) = try Connection.pipe(duplex: false)
        defer { for end in [peerReads, linkWrites, linkReads, peerWrites] { end.close() } }
        let link = ActorLink(incoming: linkReads, outgoing: linkWrites, system: .shared, peer: 99)
        for (number, target) in [(UInt64(7), "$s2m17CounterC3addyS2iYaKFTE"), (8, ""), (9, "not a name")] {
            let call = ActorCall(number: number, actor: sink.id, target: target, generics: [], arguments: [ScalarValues.bytes(of: 1)!])
            await ProcessActorSystem.shared.execute(call, for: link)
            guard case .threw(let answered, _)? = try Self.answer(on: peerReads), answered == number else {
                Issue.record("a call of \(target.isEmpty ? "an empty name" : target) was not answered with an error")
                continue
            }
        }
        try await sink.release()
    }

    /// The message waiting on `connection`, or nil if none comes within the test deadline.
    static func answer(on connection: Connection) throws -> ActorMessage? {
        guard try connection.poll(timeout: testDeadline) else { return nil }
        return try ActorMessage(payload: connection.recvBytes())
    }
}
