import CMulticore

/// A process that must not outlive the one that started it (the cluster soak's nodes).
package enum ParentDeath {
    /// Asks the kernel to send `signal` to this process when its parent, `parent`, dies (Linux
    /// ties that to the parent's *thread* that started it): false when `parent` is already gone.
    package static func signal(_ signal: Int32, whenParentDies parent: Int32) -> Bool {
        mc_signal_on_parent_death(signal, parent) == 0
    }
}
