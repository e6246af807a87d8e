/// What a condition needs of its lock: Python's private protocol of `threading.Condition`
/// (`_is_owned`, `_release_save`, `_acquire_restore`). `Lock` and `RLock` (threads), `SharedLock`
/// and `SharedRLock` (processes) speak it, so `Condition` and `SharedCondition` release and take
/// back their lock the same way, whatever it is.
package protocol ConditionLock: AnyObject, Sendable {
    /// Python's `_is_owned`: whether the calling thread holds it (for `Lock`, which has no
    /// owner: whether it is held at all).
    var isOwnedForCondition: Bool { get }
    /// Python's `_release_save`: releases it whatever its recursion level, which it returns.
    func releaseSave() -> Int
    /// Python's `_acquire_restore`: takes it back at the `level` `releaseSave` returned.
    /// - Throws: what taking the lock can throw (`OwnerDiedError` for a process-shared lock).
    func acquireRestore(_ level: Int) throws
}

extension Lock: ConditionLock {
    package var isOwnedForCondition: Bool { locked }

    package func releaseSave() -> Int {
        releaseHeld()
        return 1
    }

    package func acquireRestore(_ level: Int) { acquire() }
}
