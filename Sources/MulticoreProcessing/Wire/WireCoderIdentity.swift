import CMulticore
import Synchronization

/// Which coder (a `_WireEncoder` or `_WireDecoder`) a keyed container belongs to, without a
/// reference to it. The standard library copies a keyed container for each field it codes, and
/// a reference in it would be retained and released each time: two atomic operations, more than
/// the rest of a small field's cost. A container finds its coder through the thread instead
/// (`WireCoder.running`: the coder running there, which its caller keeps alive),
/// and checks that it is its own.
struct WireCoderIdentity {
    /// A number that no other coder of this process has: an address is reused once a coder is
    /// freed, and a container that outlived its coder must not take the next one for its own.
    let serial = Self.serials.wrappingAdd(1, ordering: .relaxed).newValue

    private static let serials = Atomic<UInt64>(0)

    /// What a keyed container keeps of `coder` (whose identity this is).
    func handle(of coder: AnyObject) -> Handle {
        Handle(address: UnsafeRawPointer(Unmanaged.passUnretained(coder).toOpaque()), serial: serial)
    }

    /// What a container outliving its coding (or taken to another thread while it ran) throws.
    static let misuse = WireError.unsupported("a keyed container used outside of its coding (after it ended, or on another thread)")

    /// A coder's address and serial.
    struct Handle {
        let address: UnsafeRawPointer
        let serial: UInt64

        /// The coder, unretained, when it is the one of its kind running on this thread (which is
        /// alive); nil when it is not.
        @inline(__always)
        func running<Coder: WireCoder>(_: Coder.Type) -> Unmanaged<Coder>? {
            guard Coder.running == address else { return nil }
            let coder = Unmanaged<Coder>.fromOpaque(address)
            return coder._withUnsafeGuaranteedRef { $0.identity.serial } == serial ? coder : nil
        }
    }
}

/// A coder whose keyed containers find it through the thread.
protocol WireCoder: AnyObject {
    var identity: WireCoderIdentity { get }
    /// The address of the coder of this kind running on this thread.
    static var running: UnsafeRawPointer? { get set }
}

extension WireCoder {
    /// Runs `body` with this the coder of its kind running on this thread, which its keyed
    /// containers use (and the one before it again after: a value may be coded while coding another).
    @inline(__always)
    func whileRunning<R>(_ body: () throws -> R) rethrows -> R {
        let me = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        let previous = Self.running
        if previous == me { return try body() }
        Self.running = me
        defer { Self.running = previous }
        return try body()
    }
}

extension _WireEncoder: WireCoder {
    static var running: UnsafeRawPointer? {
        get { mc_wire_encoder() }
        set { mc_wire_set_encoder(newValue) }
    }
}

extension _WireDecoder: WireCoder {
    static var running: UnsafeRawPointer? {
        get { mc_wire_decoder() }
        set { mc_wire_set_decoder(newValue) }
    }
}
