import MulticoreSystem
import Synchronization

/// A 32-bit atomic word at a stable address, that threads can sleep on (Linux futex).
///
/// The word lives in its own allocation because the kernel identifies a futex by its address:
/// an `Atomic` stored inline in a class has no address Swift will hand out. All operations use
/// the stdlib's `Atomic`, so ThreadSanitizer sees every acquire and release edge.
///
/// Not copyable: exactly one owner frees the word.
@usableFromInline
struct FutexWord: ~Copyable {
    @usableFromInline let pointer: UnsafeMutablePointer<Atomic<UInt32>>

    @inlinable
    init(_ value: UInt32) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: Atomic(value))
    }

    @inlinable
    deinit {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }

    @inlinable var atomic: UnsafeMutablePointer<Atomic<UInt32>> { pointer }

    // Orderings must be compile-time constants, hence one method per ordering used.

    @inlinable func loadAcquiring() -> UInt32 { pointer.pointee.load(ordering: .acquiring) }
    @inlinable func loadRelaxed() -> UInt32 { pointer.pointee.load(ordering: .relaxed) }

    @inlinable
    func exchangeAcquiring(_ value: UInt32) -> UInt32 { pointer.pointee.exchange(value, ordering: .acquiring) }

    @inlinable
    func exchangeReleasing(_ value: UInt32) -> UInt32 { pointer.pointee.exchange(value, ordering: .releasing) }

    @inlinable
    func exchangeAcquiringAndReleasing(_ value: UInt32) -> UInt32 {
        pointer.pointee.exchange(value, ordering: .acquiringAndReleasing)
    }

    @inlinable
    func compareExchangeAcquiring(expected: UInt32, desired: UInt32) -> Bool {
        pointer.pointee.compareExchange(expected: expected, desired: desired, ordering: .acquiring).exchanged
    }

    /// Sleeps while the word holds `expected`, until woken or `deadline`.
    /// Returns false only when the deadline passed; spurious returns are the caller's to loop on.
    @usableFromInline
    func wait(expected: UInt32, deadline: Deadline) -> Bool {
        let raw = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt32.self)
        return Futex.wait(raw, expected: expected, deadlineNanoseconds: deadline.nanoseconds)
    }

    /// Wakes up to `count` sleepers.
    @usableFromInline
    func wake(_ count: Int32) {
        let raw = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt32.self)
        Futex.wake(raw, count: count)
    }
}

