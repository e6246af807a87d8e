import Distributed
import MulticoreThreading

/// What a distributed target's mangled name says about its signature (its parameter types and
/// its return type), worked out once per target and process instead of on every call.
///
/// `executeDistributedTarget` demangles the target's name three times per call (its parameter
/// count, its parameter types, its return type): measured here, that was about an eighth of a
/// host's time per call. For a target that is not generic the answer never changes, so it is
/// kept, and the call goes to the runtime's entry point with it; a generic target (a method
/// of a generic actor, or a generic method), whose types depend on the call's substitutions,
/// takes the standard path.
final class TargetSignatures: @unchecked Sendable { // `known` is guarded by `lock`; a `Signature` is never written once made
    /// At most this many targets are kept: a name that merely demangles well gets a signature
    /// (whether the func exists is found when it is called), so a peer sending made-up names
    /// must not grow the table without end. Past it, signatures are worked out per call.
    static let limit = 4096

    private let lock = Lock()
    /// Every target met so far: its signature, or nil for a generic one.
    private var known: [String: Signature?] = [:]

    /// A non-generic target's signature: kept for the life of the process (one per distributed
    /// func the program calls), or, past `limit`, for one call.
    final class Signature: @unchecked Sendable { // immutable after init; its buffers are read-only from then on
        /// The target's name as UTF-8, where the runtime can read it during the call.
        let name: UnsafeMutableBufferPointer<UInt8>
        /// The types of its parameters, in order, as the runtime expects them.
        let parameterTypes: UnsafeMutableBufferPointer<any Any.Type>
        /// Allocates room for its result, and answers the call with the value found there.
        let result: any ResultSlot

        fileprivate init(name: String, parameterTypes: [any Any.Type], result: any ResultSlot) {
            self.name = .allocate(capacity: name.utf8.count)
            _ = self.name.initialize(from: name.utf8)
            self.parameterTypes = .allocate(capacity: max(1, parameterTypes.count))
            for (index, type) in parameterTypes.enumerated() { (self.parameterTypes.baseAddress! + index).initialize(to: type) }
            self.result = result
        }

        deinit {
            name.deallocate()
            parameterTypes.deallocate()
        }
    }

    /// The signature of `target`, or nil when it is generic or the runtime does not know it
    /// (the standard path then reports what is wrong). Kept for the generic and the known.
    func signature(of target: String) -> Signature? {
        if let found = lock.withLock({ known[target] }) { return found }
        let made: Signature?
        switch Self.make(target) {
        // Not kept: a name the runtime does not know comes from a corrupt or foreign message, and
        // such names must not grow the table (the standard path reports them).
        case .unknown: return nil
        case .generic: made = nil
        case .signature(let signature): made = signature
        }
        return lock.withLock {
            if let raced = known[target] { return raced }
            if known.count < Self.limit { known[target] = .some(made) }
            return made
        }
    }

    /// How many targets are kept (for tests).
    var keptCount: Int { lock.withLock { known.count } }

    private enum Made { case signature(Signature), generic, unknown }

    private static func make(_ target: String) -> Made {
        guard !target.isEmpty else { return .unknown }
        var name = Array(target.utf8)
        return name.withUnsafeMutableBufferPointer { utf8 -> Made in
            let start = UnsafePointer(utf8.baseAddress!), length = UInt(utf8.count)
            guard _getGenericEnvironmentOfDistributedTarget(start, length) == nil else { return .generic }
            let count = __getParameterCount(start, length)
            guard count >= 0 else { return .unknown }
            let types = UnsafeMutableBufferPointer<any Any.Type>.allocate(capacity: max(1, Int(count)))
            defer { types.deallocate() }
            guard parameterTypes(start, length, nil, nil, UnsafeMutableRawPointer(types.baseAddress!), Int(count)) == count,
                  let returnType = __getReturnTypeInfo(start, length, nil, nil),
                  let result = resultSlot(for: returnType) else { return .unknown }
            return .signature(Signature(name: target, parameterTypes: Array(types.prefix(Int(count))), result: result))
        }
    }
}

/// Room for a call's result, of its return type, and how the value found there answers the call.
protocol ResultSlot: Sendable {
    /// Allocates uninitialized room for one result.
    func allocate() -> UnsafeMutableRawPointer
    /// Takes the result out of the room (which it frees) and hands it to `handler`.
    func answer(_ room: UnsafeMutableRawPointer, _ handler: HostedResultHandler) async throws
    /// Frees the room when no result was put there (the call threw).
    func discard(_ room: UnsafeMutableRawPointer)
}

/// The slot for a return type: nil for one that is neither `Void` nor `Codable` (a distributed
/// func of this system cannot have one).
func resultSlot(for type: any Any.Type) -> (any ResultSlot)? {
    if type == Void.self { return VoidResult() }
    guard let codable = type as? any Codable.Type else { return nil }
    return typedSlot(codable)
}

private func typedSlot<R: Codable>(_: R.Type) -> any ResultSlot { TypedResult<R>() }

private struct VoidResult: ResultSlot {
    func allocate() -> UnsafeMutableRawPointer { .allocate(byteCount: 1, alignment: 1) }
    func answer(_ room: UnsafeMutableRawPointer, _ handler: HostedResultHandler) async throws {
        room.deallocate()
        try await handler.onReturnVoid()
    }
    func discard(_ room: UnsafeMutableRawPointer) { room.deallocate() }
}

private struct TypedResult<R: Codable>: ResultSlot {
    func allocate() -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(UnsafeMutablePointer<R>.allocate(capacity: 1)) }
    func answer(_ room: UnsafeMutableRawPointer, _ handler: HostedResultHandler) async throws {
        let slot = room.assumingMemoryBound(to: R.self)
        let value = slot.move()
        slot.deallocate()
        try await handler.onReturn(value: value)
    }
    func discard(_ room: UnsafeMutableRawPointer) { room.assumingMemoryBound(to: R.self).deallocate() }
}

extension ProcessActorSystem {
    /// Runs `call`'s target on `actor` with its signature known beforehand, and answers
    /// through `handler` (its result, or what it threw). What `executeDistributedTarget` does,
    /// without working the signature out again.
    func execute(_ signature: TargetSignatures.Signature, on actor: some DistributedActor, decoder: inout HostedCallDecoder,
                 handler: HostedResultHandler) async {
        let room = signature.result.allocate()
        do {
            try await executeTarget(on: actor, UnsafePointer(signature.name.baseAddress!), UInt(signature.name.count),
                                    argumentDecoder: &decoder, argumentTypes: UnsafeRawPointer(signature.parameterTypes.baseAddress!),
                                    resultBuffer: room, substitutions: nil, witnessTables: nil, numWitnessTables: 0)
        } catch {
            signature.result.discard(room)
            try? await handler.onThrow(error: error)
            return
        }
        do {
            try await signature.result.answer(room, handler)
        } catch {
            try? await handler.onThrow(error: error)
        }
    }
}

// The runtime's entry points behind `executeDistributedTarget` (the Distributed module
// declares the first itself, internally, the same way; the second is its public declaration
// with a typed pointer in place of `Builtin.RawPointer`, the same in the ABI).
@_silgen_name("swift_distributed_execute_target")
private func executeTarget<D: DistributedTargetInvocationDecoder>(
    on actor: AnyObject, _ targetName: UnsafePointer<UInt8>, _ targetNameLength: UInt, argumentDecoder: inout D,
    argumentTypes: UnsafeRawPointer, resultBuffer: UnsafeMutableRawPointer, substitutions: UnsafeRawPointer?,
    witnessTables: UnsafeRawPointer?, numWitnessTables: UInt
) async throws

@_silgen_name("swift_func_getParameterTypeInfo")
private func parameterTypes(_ name: UnsafePointer<UInt8>, _ length: UInt, _ genericEnv: UnsafeRawPointer?,
                            _ genericArguments: UnsafeRawPointer?, _ types: UnsafeMutableRawPointer, _ count: Int) -> Int32
