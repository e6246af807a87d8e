#if canImport(Glibc)
import Glibc
#endif

/// A task type's name for a person: the queue and the nodes name a type by its mangled name (what
/// a worker finds it by, `16ClusterTestTasks5TwiceV`); the status shows it as Swift prints the
/// type (`ClusterTestTasks.Twice`, as `String(reflecting:)` does), read by the Swift runtime's
/// demangler, so the process showing it need not contain the type.
enum TaskTypeName {
    /// The readable name of the mangled type name `kind`, or `kind` itself when it is not one.
    static func readable(_ kind: String) -> String {
        guard !kind.isEmpty, kind.utf8.count < 4096 else { return kind }
        let symbol = "$s" + kind + "D" // a type mangling as a symbol: the prefix, then `D` for "the type"
        guard let demangled = symbol.withCString({ swiftDemangle($0, UInt(strlen($0)), nil, nil, 0) }) else { return kind }
        defer { free(demangled) }
        let name = String(cString: demangled)
        // What it cannot read it gives back as it was.
        return name.isEmpty || name == symbol ? kind : name
    }
}

/// The Swift runtime's demangler (exported by libswiftCore): a malloc'd C string (the input
/// itself when it is not a mangled name), or nil.
@_silgen_name("swift_demangle")
private func swiftDemangle(_ mangledName: UnsafePointer<CChar>, _ mangledNameLength: UInt, _ outputBuffer: UnsafeMutablePointer<CChar>?,
                           _ outputBufferSize: UnsafeMutablePointer<UInt>?, _ flags: UInt32) -> UnsafeMutablePointer<CChar>?
