#if canImport(Glibc)
import Glibc
#endif

/// What a benchmark promises, as limits on its cost (every figure is a cost: lower is better).
package struct BenchGoal: Sendable, Equatable {
    /// Most Multicore may cost relative to raw.
    package var maxRawRatio: Double?
    /// How many times faster than CPython Multicore must be (below 1: how much of CPython's
    /// cost it may have, as for memory).
    package var minPythonSpeedup: Double?
    /// Most Multicore's figure may be, in its unit.
    package var maxCost: Double?
    /// How many times faster than the best peer Multicore must be, when it is not the speedup
    /// asked against CPython (the cluster rows, whose peers are pgqueuer and procrastinate).
    package var peerSpeedup: Double?

    package init(maxRawRatio: Double? = nil, minPythonSpeedup: Double? = nil, maxCost: Double? = nil, peerSpeedup: Double? = nil) {
        self.maxRawRatio = maxRawRatio
        self.minPythonSpeedup = minPythonSpeedup
        self.maxCost = maxCost
        self.peerSpeedup = peerSpeedup
    }

    /// How many times faster than the best Python peer (loky, pebble, joblib) Multicore must be:
    /// `peerSpeedup` when given, else the speedup asked of it against CPython, or, for a goal
    /// without one, no slower than the peer.
    package var minPeerSpeedup: Double { peerSpeedup ?? minPythonSpeedup ?? 1 }
}

/// One peer's figure for a row: nil when the peer has the work but its run failed.
package struct PeerFigure: Sendable, Equatable {
    package let peer: String
    package let value: Double?

    package init(peer: String, value: Double?) {
        self.peer = peer
        self.value = value
    }
}

/// One benchmark's figures from a run, and what they say about its goal.
package struct BenchRow: Sendable {
    package let name: String
    package let unit: String
    package let goal: BenchGoal
    package let multicore: Double?
    package let python: Double?
    package let raw: Double?
    /// nil when peers were not measured (no `--peers`); empty when no peer has this work.
    package let peers: [PeerFigure]?

    package init(name: String, unit: String, goal: BenchGoal, multicore: Double?, python: Double?, raw: Double?,
                peers: [PeerFigure]? = nil) {
        self.name = name
        self.unit = unit
        self.goal = goal
        self.multicore = multicore
        self.python = python
        self.raw = raw
        self.peers = peers
    }

    /// The cheapest peer that has a figure.
    package var bestPeer: (peer: String, value: Double)? {
        var best: (peer: String, value: Double)?
        for figure in peers ?? [] {
            guard let value = figure.value, value.isFinite else { continue }
            if best.map({ value < $0.value }) ?? true { best = (figure.peer, value) }
        }
        return best
    }

    /// Whether some peer has this work (its figure may still be missing).
    var hasPeers: Bool { !(peers ?? []).isEmpty }

    package var rawRatio: Double? { multicore.flatMap { m in raw.map { m / $0 } } }
    package var pythonSpeedup: Double? { multicore.flatMap { m in python.map { $0 / m } } }
    package var peerSpeedup: Double? { multicore.flatMap { m in bestPeer.map { $0.value / m } } }

    /// The most Multicore's figure may be under every goal whose reference was measured: the goal
    /// line of the picture. nil when there is no goal or no reference for it.
    package var costLimit: Double? {
        var limits: [Double] = []
        if let ratio = goal.maxRawRatio, let raw { limits.append(raw * ratio) }
        if let speedup = goal.minPythonSpeedup, let python { limits.append(python / speedup) }
        if let cost = goal.maxCost { limits.append(cost) }
        if hasPeers, let best = bestPeer { limits.append(best.value / goal.minPeerSpeedup) }
        return limits.filter { $0.isFinite && $0 > 0 }.min()
    }

    package enum Verdict: Sendable, Equatable {
        case none, met, missed, unchecked
    }

    /// Missed when any goal is missed; unchecked when none is missed but a figure it needs is missing.
    package var verdict: Verdict { assessGoal().verdict }

    /// The goal column: the verdict, then each goal.
    package var goalText: String {
        let (verdict, parts) = assessGoal()
        switch verdict {
        case .none: return ""
        case .missed: return "MISSED: " + parts.joined(separator: ", ")
        case .unchecked: return "not checked (a figure is missing): " + parts.joined(separator: ", ")
        case .met: return "met: " + parts.joined(separator: ", ")
        }
    }

    private func assessGoal() -> (verdict: Verdict, parts: [String]) {
        var parts: [String] = []
        var met = true
        var unchecked = false
        if let limit = goal.maxRawRatio {
            parts.append("<=\(limit)x raw")
            if let ratio = rawRatio { if ratio > limit { met = false } } else { unchecked = true }
        }
        if let speedup = goal.minPythonSpeedup {
            parts.append(Self.speedupText(speedup, against: "Python"))
            if let actual = pythonSpeedup { if actual < speedup { met = false } } else { unchecked = true }
        }
        if let limit = goal.maxCost {
            parts.append("<=" + cFormat("%g", limit) + " " + unit)
            if let multicore { if multicore > limit { met = false } } else { unchecked = true }
        }
        if hasPeers {
            let speedup = goal.minPeerSpeedup
            parts.append(speedup == 1 ? "no slower than the best peer" : Self.speedupText(speedup, against: "the best peer"))
            if let actual = peerSpeedup { if actual < speedup { met = false } } else { unchecked = true }
        }
        if parts.isEmpty { return (.none, []) }
        return (!met ? .missed : unchecked ? .unchecked : .met, parts)
    }

    private static func speedupText(_ speedup: Double, against reference: String) -> String {
        speedup >= 1 && speedup == speedup.rounded() ? ">=\(Int(speedup))x faster than \(reference)"
                                                     : "<=" + cFormat("%.2g", 1 / speedup) + "x \(reference)"
    }

    /// The table's header: with the best peer's columns when peers were measured.
    package static func header(peers: Bool) -> String {
        "name                           unit         multicore       python          raw             vs raw   vs python  "
            + (peers ? "best peer       vs peer   peer    " : "") + "goal"
    }

    /// One line of the table (the best peer's columns only when peers were measured).
    package var text: String {
        func cell(_ value: Double?) -> String { value.map { cFormat("%-15.4e", $0) } ?? "-              " }
        func ratio(_ value: Double?, _ suffix: String) -> String {
            value.map { cFormat("%6.2fx", $0) + suffix } ?? "      -  "
        }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
        var line = pad(name, 31) + pad(unit, 13)
            + cell(multicore) + " " + cell(python) + " " + cell(raw) + " "
            + ratio(rawRatio, "  ") + " " + ratio(pythonSpeedup, "   ") + " "
        if peers != nil {
            let best = bestPeer
            line += cell(best?.value) + " " + ratio(peerSpeedup, "   ") + " " + pad(best?.peer ?? "-", 8)
        }
        return line + goalText
    }

    /// One JSON object: name, unit, multicore, python, raw, and `peers` (peer name to figure,
    /// null for a peer whose run failed) when peers were measured.
    package var json: String {
        var text = "{\"name\": \(jsonString(name)), \"unit\": \(jsonString(unit)), "
            + "\"multicore\": \(jsonNumber(multicore)), \"python\": \(jsonNumber(python)), \"raw\": \(jsonNumber(raw))"
        if let peers {
            text += ", \"peers\": {" + peers.map { "\(jsonString($0.peer)): \(jsonNumber($0.value))" }.joined(separator: ", ") + "}"
        }
        return text + "}"
    }
}

/// A JSON number, or null for nothing (and for what JSON cannot hold: NaN, infinity).
func jsonNumber(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "null" }
    return "\(value)"
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    var escaped = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\t": escaped += "\\t"
        case "\r": escaped += "\\r"
        default:
            if scalar.value < 0x20 { escaped += cFormat("\\u%04x", scalar.value) } else { escaped.unicodeScalars.append(scalar) }
        }
    }
    return escaped + "\""
}

/// `String(format:)` without Foundation (which would make every worker copy of the `multicore`
/// executable load it): C's `vsnprintf`.
package func cFormat(_ format: String, _ arguments: any CVarArg...) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    _ = withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
