import MulticoreThreading

extension Lock {
    /// `withLock` for the critical sections of this module's async code: a few dictionary
    /// operations, never an `await` or a system call inside, so the thread is never held
    /// waiting (what `withLock`'s `noasync` guards against).
    func briefly<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try withLock(body)
    }
}
