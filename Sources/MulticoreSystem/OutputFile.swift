import SystemPackage

/// A file a command writes whole at the end of its run (`multicore bench --svg`): opened, and
/// so checked, before the run, and left as it was until `replaceContents`.
package final class OutputFile {
    private let file: FileDescriptor
    package let path: String

    /// Opens `path` for writing, creating it (rw-r--r--) when missing, without truncating it.
    package init(path: String) throws(Errno) {
        let opened = Result {
            try FileDescriptor.open(path, .writeOnly, options: [.create, .closeOnExec],
                                    permissions: [.ownerReadWrite, .groupRead, .otherRead])
        }
        switch opened {
        case .success(let file): self.file = file
        case .failure(let error as Errno): throw error
        case .failure: throw Errno.ioError
        }
        self.path = path
    }

    /// Replaces what the file holds with `text`.
    package func replaceContents(with text: String) throws(Errno) {
        let replaced = Result { () throws in
            try file.resize(to: 0)
            _ = try file.seek(offset: 0, from: .start)
        }
        if case .failure(let error) = replaced { throw (error as? Errno) ?? .ioError }
        let written = Array(text.utf8).withUnsafeBytes { bytes in Result { () throws(Errno) in try file.writeAll(bytes) } }
        try written.get()
    }

    deinit { try? file.close() }
}
