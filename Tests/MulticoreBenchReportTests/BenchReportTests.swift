import Testing
@testable import MulticoreBenchReport

/// The benchmark's report: rows, goals against the best peer, JSON, the log scale and the SVG
/// picture. No benchmark runs here: the figures are made up.
@Suite struct BenchRowTests {
    let submit = BenchGoal(minPythonSpeedup: 10)

    @Test func theBestPeerIsTheCheapestWithAFigure() {
        let row = BenchRow(name: "executor.processes.submit", unit: "s/task", goal: submit, multicore: 9e-6, python: 127e-6, raw: nil,
                           peers: [PeerFigure(peer: "loky", value: 196e-6), PeerFigure(peer: "pebble", value: 89e-6),
                                   PeerFigure(peer: "joblib", value: nil)])
        #expect(row.bestPeer?.peer == "pebble")
        #expect(row.bestPeer?.value == 89e-6)
        #expect(abs(row.peerSpeedup! - 89.0 / 9) < 1e-9)
    }

    @Test func theSpeedupAskedAgainstPythonIsAskedAgainstTheBestPeerToo() {
        // 14x faster than CPython but only 9.9x faster than pebble: missed.
        let row = BenchRow(name: "x", unit: "s/task", goal: submit, multicore: 9e-6, python: 126e-6, raw: nil,
                           peers: [PeerFigure(peer: "pebble", value: 89e-6)])
        #expect(row.verdict == .missed)
        #expect(row.goalText == "MISSED: >=10x faster than Python, >=10x faster than the best peer")
        let faster = BenchRow(name: "x", unit: "s/task", goal: submit, multicore: 8e-6, python: 126e-6, raw: nil,
                              peers: [PeerFigure(peer: "pebble", value: 89e-6)])
        #expect(faster.verdict == .met)
        // The limit drawn in the picture is the tighter of the two.
        #expect(abs(faster.costLimit! - 8.9e-6) < 1e-15)
    }

    @Test func anAbsoluteGoalAsksToBeNoSlowerThanTheBestPeer() {
        let goal = BenchGoal(maxCost: 0.1)
        let row = BenchRow(name: "pool.timeout_overshoot", unit: "s", goal: goal, multicore: 0.02, python: nil, raw: nil,
                           peers: [PeerFigure(peer: "pebble", value: 0.012)])
        #expect(row.verdict == .missed)
        #expect(row.goalText == "MISSED: <=0.1 s, no slower than the best peer")
        #expect(row.costLimit == 0.012)
    }

    @Test func aPeerWhoseRunFailedLeavesTheGoalUnchecked() {
        let row = BenchRow(name: "x", unit: "s/task", goal: submit, multicore: 1e-6, python: 1e-4, raw: nil,
                           peers: [PeerFigure(peer: "pebble", value: nil)])
        #expect(row.verdict == .unchecked)
        #expect(row.bestPeer == nil)
    }

    @Test func withoutPeersTheLineAndTheJSONAreAsBefore() {
        let row = BenchRow(name: "lock.uncontended", unit: "s/pair", goal: BenchGoal(maxRawRatio: 1.2, minPythonSpeedup: 3),
                           multicore: 5.2e-9, python: 2.143e-7, raw: 8.6e-9)
        #expect(row.json == "{\"name\": \"lock.uncontended\", \"unit\": \"s/pair\", \"multicore\": 5.2e-09, \"python\": 2.143e-07, \"raw\": 8.6e-09}")
        #expect(row.text == "lock.uncontended               s/pair       5.2000e-09      2.1430e-07      8.6000e-09        0.60x    41.21x    "
            + "met: <=1.2x raw, >=3x faster than Python")
        #expect(BenchRow.header(peers: false).hasSuffix("vs raw   vs python  goal"))
        // A row no peer has gets empty peer columns when peers were measured.
        let measured = BenchRow(name: row.name, unit: row.unit, goal: row.goal, multicore: row.multicore, python: row.python,
                                raw: row.raw, peers: [])
        #expect(measured.json.hasSuffix("\"raw\": 8.6e-09, \"peers\": {}}"))
        #expect(measured.goalText == row.goalText)
        #expect(measured.text.contains("41.21x    -                     -   -       met:"))
    }

    @Test func theJSONPeersObjectNamesEachPeerWithItsFigure() {
        let row = BenchRow(name: "pool.map.chunk1", unit: "s/task", goal: BenchGoal(minPythonSpeedup: 5), multicore: 6.5e-6,
                           python: 3.3e-5, raw: nil,
                           peers: [PeerFigure(peer: "pebble", value: 1.18e-4), PeerFigure(peer: "joblib", value: nil),
                                   PeerFigure(peer: "loky", value: .nan)])
        #expect(row.json == "{\"name\": \"pool.map.chunk1\", \"unit\": \"s/task\", \"multicore\": 6.5e-06, \"python\": 3.3e-05, "
            + "\"raw\": null, \"peers\": {\"pebble\": 0.000118, \"joblib\": null, \"loky\": null}}")
        #expect(row.text.contains("1.1800e-04       18.15x    pebble  met: >=5x faster than Python, >=5x faster than the best peer"))
    }

    @Test func jsonStringsAreEscaped() {
        #expect(jsonString("a\"b\\c\nd\u{1}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }
}

@Suite struct LogScaleTests {
    @Test func coversWholeDecades() {
        let scale = LogScale(covering: [0.003, 42, 1_549], start: 100, end: 700)
        #expect(scale.lowerExponent == -3)
        #expect(scale.upperExponent == 4)
        #expect(scale.ticks.count == 8)
        #expect(scale.ticks.first?.position == 100)
        #expect(scale.ticks.last?.position == 700)
        // Decades are evenly spaced: 600 px over 7 decades.
        #expect(abs(scale.position(1) - (100 + 600.0 * 3 / 7)) < 1e-9)
        #expect(abs(scale.position(10) - scale.position(1) - 600.0 / 7) < 1e-9)
    }

    @Test func includesOneWhenAskedAndSpansADecadeAtLeast() {
        let scale = LogScale(covering: [3, 4], includingOne: true, start: 0, end: 100)
        #expect(scale.lowerExponent == 0 && scale.upperExponent == 1)
        let exact = LogScale(covering: [10], start: 0, end: 100)
        #expect(exact.lowerExponent == 1 && exact.upperExponent == 2)
        let empty = LogScale(covering: [0, -1, .nan, .infinity], start: 0, end: 100)
        #expect(empty.lowerExponent == 0 && empty.upperExponent == 1)
    }

    @Test func valuesBeyondTheLimitsAreDrawnAtTheEnds() {
        let scale = LogScale(covering: [1e-9, 1e9], limits: -3...5, start: 0, end: 800)
        #expect(scale.lowerExponent == -3 && scale.upperExponent == 5)
        #expect(scale.position(1e-9) == 0)
        #expect(scale.position(1e9) == 800)
        #expect(scale.position(0) == 0)
        #expect(!scale.contains(1e9))
        #expect(scale.contains(1e5))
    }

    @Test func aReversedSpanDrawsUpwards() {
        let scale = LogScale(lowerExponent: 0, upperExponent: 2, start: 200, end: 0)
        #expect(scale.position(1) == 200)
        #expect(scale.position(10) == 100)
        #expect(scale.position(100) == 0)
    }

    @Test func figuresAreWrittenInTheirUnits() {
        #expect(humanFigure(5.04e-8, unit: "s/task") == "50.4 ns")
        #expect(humanFigure(0.00239, unit: "s") == "2.39 ms")
        #expect(humanFigure(9.34e-6, unit: "s/task") == "9.34 us")
        #expect(humanFigure(1.14, unit: "s/run") == "1.14 s")
        #expect(humanFigure(10_342, unit: "kB") == "10.1 MB")
        #expect(humanFigure(512, unit: "kB") == "512 kB")
        #expect(timesText(1549.87) == "1550x")
        #expect(timesText(0.6) == "0.60x")
    }
}

@Suite struct BenchPictureTests {
    func rows() -> [BenchRow] {
        [
            BenchRow(name: "lock.uncontended", unit: "s/pair", goal: BenchGoal(maxRawRatio: 1.2, minPythonSpeedup: 3),
                     multicore: 5.2e-9, python: 2.143e-7, raw: 8.6e-9),
            BenchRow(name: "pool.timeout_overshoot", unit: "s", goal: BenchGoal(maxCost: 0.1), multicore: 0.02, python: nil, raw: nil,
                     peers: [PeerFigure(peer: "pebble", value: 0.012)]),
            BenchRow(name: "no<figure>&", unit: "s", goal: BenchGoal(), multicore: nil, python: 1, raw: nil),
        ]
    }

    func panel() -> ScalingPanel {
        ScalingPanel(workers: [1, 2, 4], charts: [
            ScalingChart(title: "CPU-bound", series: [
                ScalingChart.Series(label: "Multicore threads", throughputs: [30, 59, 60]),
                ScalingChart.Series(label: "CPython <processes>", throughputs: [0.5, nil, 1]),
            ]),
        ])
    }

    @Test func theAxisIsRelativeToMulticoreAndHoldsEveryFigure() {
        let picture = BenchPicture(rows: rows(), scaling: nil, caption: "test")
        let scale = picture.ratioScale
        // lock.uncontended: CPython 41x, raw 1.65x, goal limit min(1.2 x raw, python / 3) = 1.98x;
        // pool.timeout_overshoot: pebble 0.6x, goal 0.6x.
        #expect(scale.lowerExponent == -1)
        #expect(scale.upperExponent == 2)
        #expect(picture.drawnRows.map(\.name) == ["lock.uncontended", "pool.timeout_overshoot"])
    }

    @Test func theSVGIsWellFormedAndMarksEachFigure() throws {
        let svg = BenchPicture(rows: rows(), scaling: panel(), caption: "3 rounds & 2 vCPUs").svg()
        try checkWellFormed(svg)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("3 rounds &amp; 2 vCPUs"))
        #expect(svg.contains("CPython &lt;processes&gt;"))
        #expect(!svg.contains("no<figure>") && !svg.contains("no&lt;figure&gt;")) // no Multicore figure: not drawn
        #expect(svg.contains("<title>goal: at most 10.3 ns/pair (1.98x Multicore's)</title>"))
        #expect(svg.contains("<title>pebble: 12.0 ms (0.60x Multicore's)</title>"))
        #expect(svg.contains("20.0 ms MISSED"))
        #expect(svg.contains("5.20 ns/pair met"))
        // One point per measured throughput: 3 + 2.
        #expect(svg.ranges(of: "worker(s): ").count == 5)
        #expect(svg.contains("<title>CPython &lt;processes&gt;, 4 worker(s): 1.0 tasks/s</title>"))
    }

    @Test func withoutAPanelThePictureIsShorter() {
        let with = BenchPicture(rows: rows(), scaling: panel(), caption: "")
        let without = BenchPicture(rows: rows(), scaling: nil, caption: "")
        #expect(without.height < with.height)
        #expect(!without.svg().contains("Scaling"))
    }

    @Test func decadesAreLabelled() {
        #expect(BenchPicture.decadeLabel(-2) == "0.01")
        #expect(BenchPicture.decadeLabel(0) == "1")
        #expect(BenchPicture.decadeLabel(4) == "10k")
        #expect(BenchPicture.decadeLabel(6) == "1M")
        #expect(BenchPicture.ratioLabel(-1) == "0.1x")
        #expect(BenchPicture.ratioLabel(4) == "10000x")
        #expect(BenchPicture.unitSuffix("s/task") == "/task")
        #expect(BenchPicture.unitSuffix("kB") == "")
        #expect(num(12.5) == "12.5" && num(3) == "3" && num(0.333) == "0.33")
    }
}

/// Every tag closed in order, every attribute quoted, no bare `&` or `<` in text.
func checkWellFormed(_ xml: String) throws {
    struct Malformed: Error, CustomStringConvertible { let description: String }
    var stack: [Substring] = []
    var rest = xml[...]
    while let open = rest.firstIndex(of: "<") {
        let text = rest[..<open]
        if text.contains(">") { throw Malformed(description: "a bare > in \(text)") }
        for (index, character) in zip(text.indices, text) where character == "&" {
            let entity = text[index...].prefix { $0 != ";" }
            guard ["&amp", "&lt", "&gt", "&quot"].contains(String(entity)) else { throw Malformed(description: "a bare & in \(text)") }
        }
        guard let close = rest[open...].firstIndex(of: ">") else { throw Malformed(description: "an unclosed tag") }
        let tag = rest[rest.index(after: open)..<close]
        if tag.contains("<") { throw Malformed(description: "a < inside a tag: \(tag)") }
        if tag.filter({ $0 == "\"" }).count % 2 != 0 { throw Malformed(description: "an unquoted attribute: \(tag)") }
        if tag.hasPrefix("/") {
            guard stack.popLast() == tag.dropFirst() else { throw Malformed(description: "</\(tag.dropFirst())> closes nothing open") }
        } else if !tag.hasSuffix("/") {
            stack.append(tag.prefix { $0 != " " })
        }
        rest = rest[rest.index(after: close)...]
    }
    guard stack.isEmpty else { throw Malformed(description: "unclosed: \(stack)") }
}
