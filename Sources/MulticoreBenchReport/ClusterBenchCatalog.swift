/// The cluster benchmark's rows (`multicore-cluster bench`, merged by `multicore bench
/// --cluster`): their names, units and goals, known to both executables, since the JSON a row
/// travels in carries its figures only.
package enum ClusterBenchCatalog {
    package struct Entry: Sendable, Equatable {
        package let name: String
        package let unit: String
        package let goal: BenchGoal
    }

    /// Every row, in the order they run.
    package static let entries: [Entry] = [
        // A map of x*2 over 200k Ints on 2 nodes; raw: a bare client's batches of 100; peers:
        // pgqueuer and procrastinate with their own batching.
        Entry(name: "cluster.map.auto", unit: "s/task", goal: BenchGoal(maxRawRatio: 1.5, peerSpeedup: 2)),
        // p50 from submit to result of one task, an idle node waiting; raw: the bare
        // insert+notify, claim, complete+notify, wake cycle.
        Entry(name: "cluster.submit.latency", unit: "s", goal: BenchGoal(maxRawRatio: 2)),
        // From a node's SIGKILL until its running task starts again on another node.
        Entry(name: "cluster.node_death_rescue", unit: "s", goal: BenchGoal(maxCost: 12)),
        Entry(name: "cluster.node_death_rescue.0.5s", unit: "s", goal: BenchGoal(maxCost: 3)),
        // From a task's worker SIGKILL until the submitter holds the failure.
        Entry(name: "cluster.task_crash_detect", unit: "s", goal: BenchGoal(maxCost: 0.1)),
    ]

    package static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The row `json` (one line of `multicore-cluster bench --json`) holds, with its goal from
    /// the catalog; nil when the line is not such a row.
    package static func row(json: String) -> BenchRow? {
        guard let object = FlatJSON(json).object(), case .string(let name)? = object["name"], let entry = entry(name) else {
            return nil
        }
        func number(_ key: String) -> Double? {
            if case .number(let value)? = object[key] { return value }
            return nil
        }
        var peers: [PeerFigure]?
        if case .object(let figures)? = object["peers"] {
            peers = figures.map { peer, value in
                if case .number(let figure) = value { return PeerFigure(peer: peer, value: figure) }
                return PeerFigure(peer: peer, value: nil)
            }
        }
        return BenchRow(name: name, unit: entry.unit, goal: entry.goal, multicore: number("multicore"),
                        python: number("python"), raw: number("raw"), peers: peers)
    }
}

/// The JSON of a bench row: one object whose values are strings, numbers, null, or an object of
/// those (`peers`), read without Foundation (the `multicore` executable does not load it).
struct FlatJSON {
    enum Value: Equatable {
        case string(String), number(Double), null
        /// Its members in their order.
        case object([(String, Value)])

        static func == (left: Value, right: Value) -> Bool {
            switch (left, right) {
            case (.string(let a), .string(let b)): a == b
            case (.number(let a), .number(let b)): a == b
            case (.null, .null): true
            case (.object(let a), .object(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
            default: false
            }
        }
    }

    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    /// The top-level object's members by name, or nil when `text` is not one such object.
    func object() -> [String: Value]? {
        var reader = self
        guard case .object(let members)? = reader.value(), reader.atEnd() else { return nil }
        return Dictionary(members, uniquingKeysWith: { first, _ in first })
    }

    private mutating func atEnd() -> Bool {
        skipSpace()
        return index == scalars.count
    }

    private mutating func skipSpace() {
        while index < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[index]) { index += 1 }
    }

    private mutating func value() -> Value? {
        skipSpace()
        guard index < scalars.count else { return nil }
        switch scalars[index] {
        case "{":
            index += 1
            var members: [(String, Value)] = []
            skipSpace()
            if index < scalars.count, scalars[index] == "}" { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard case .string(let key)? = value() else { return nil }
                skipSpace()
                guard index < scalars.count, scalars[index] == ":" else { return nil }
                index += 1
                guard let member = value() else { return nil }
                members.append((key, member))
                skipSpace()
                guard index < scalars.count else { return nil }
                if scalars[index] == "," { index += 1; continue }
                if scalars[index] == "}" { index += 1; return .object(members) }
                return nil
            }
        case "\"":
            index += 1
            var text = ""
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                if scalar == "\"" { return .string(text) }
                if scalar == "\\" {
                    guard index < scalars.count else { return nil }
                    let escaped = scalars[index]
                    index += 1
                    switch escaped {
                    case "n": text += "\n"
                    case "t": text += "\t"
                    case "r": text += "\r"
                    case "u":
                        guard index + 4 <= scalars.count, let code = UInt32(String(String.UnicodeScalarView(scalars[index..<index + 4])), radix: 16),
                              let decoded = Unicode.Scalar(code) else { return nil }
                        index += 4
                        text.unicodeScalars.append(decoded)
                    default: text.unicodeScalars.append(escaped)
                    }
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
            return nil
        case "n":
            guard index + 4 <= scalars.count, String(String.UnicodeScalarView(scalars[index..<index + 4])) == "null" else { return nil }
            index += 4
            return .null
        default:
            let start = index
            while index < scalars.count, "0123456789+-.eE".unicodeScalars.contains(scalars[index]) { index += 1 }
            return Double(String(String.UnicodeScalarView(scalars[start..<index]))).map { .number($0) }
        }
    }
}
