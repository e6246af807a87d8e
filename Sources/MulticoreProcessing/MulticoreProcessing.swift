// Python's multiprocessing for Swift: work in processes with their own memory, and what
// carries values between them. This layer builds on MulticoreThreading (its error model and
// Future type) and starts with the wire format every channel between processes uses.
@_exported import MulticoreThreading
