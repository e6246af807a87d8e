import MulticoreSystem

/// The descriptors that travel beside a message: a `Connection` is encoded as its index here.
final class DescriptorTable {
    /// Descriptors owned by the table; an entry taken by a decoded `Connection` becomes -1.
    var descriptors: [Int32]

    init(_ descriptors: [Int32] = []) { self.descriptors = descriptors }

    deinit { for fd in descriptors where fd >= 0 { closeDescriptor(fd) } }
}
