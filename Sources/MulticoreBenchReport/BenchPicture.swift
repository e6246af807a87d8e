/// How throughput grows with workers, for one kind of work: one series per implementation.
package struct ScalingChart: Sendable {
    package struct Series: Sendable {
        package let label: String
        /// One figure per worker count of the panel, nil where it was not measured.
        package let throughputs: [Double?]

        package init(label: String, throughputs: [Double?]) {
            self.label = label
            self.throughputs = throughputs
        }
    }

    package let title: String
    package let series: [Series]

    package init(title: String, series: [Series]) {
        self.title = title
        self.series = series
    }
}

/// The scaling panel: charts over the same worker counts.
package struct ScalingPanel: Sendable {
    package let workers: [Int]
    package let charts: [ScalingChart]

    package init(workers: [Int], charts: [ScalingChart]) {
        self.workers = workers
        self.charts = charts
    }
}

/// `multicore bench --svg`: the run as an SVG picture, written by hand (no dependencies).
///
/// Top: one line per figure on one logarithmic axis of cost relative to Multicore's (Multicore
/// at 1x, cheaper to the left), with CPython, the best peer, raw and the goal's limit on it.
/// Bottom: the scaling panel, throughput against workers on a logarithmic axis.
package struct BenchPicture: Sendable {
    package let rows: [BenchRow]
    package let scaling: ScalingPanel?
    /// A line under the title: what was run, where.
    package let caption: String

    package init(rows: [BenchRow], scaling: ScalingPanel?, caption: String) {
        self.rows = rows
        self.scaling = scaling
        self.caption = caption
    }

    package static let width = 980.0
    static let plotStart = 300.0, plotEnd = 750.0, figureColumn = 790.0
    static let rowsTop = 96.0, rowHeight = 20.0
    static let chartHeight = 190.0

    /// The rows that can be drawn: those with a Multicore figure.
    var drawnRows: [BenchRow] { rows.filter { ($0.multicore ?? 0) > 0 } }

    /// Each row's other figures (and its goal's limit) as multiples of Multicore's.
    static func ratios(_ row: BenchRow) -> [Double] {
        guard let multicore = row.multicore, multicore > 0 else { return [] }
        return [row.python, row.raw, row.bestPeer?.value, row.costLimit].compactMap { $0.map { $0 / multicore } }
    }

    /// The axis of the rows: whole decades around every ratio, from 0.001x to 100,000x at most.
    package var ratioScale: LogScale {
        LogScale(covering: drawnRows.flatMap(Self.ratios), includingOne: true, limits: -3...5,
                 start: Self.plotStart, end: Self.plotEnd)
    }

    package var height: Double {
        let rowsBottom = Self.rowsTop + Double(drawnRows.count) * Self.rowHeight + 30
        return rowsBottom + (scaling.map { _ in Self.chartHeight + 60 } ?? 0) + 10
    }

    package func svg() -> String {
        var out = SVGText()
        out.begin("svg", ["xmlns": "http://www.w3.org/2000/svg", "width": num(Self.width), "height": num(height),
                         "viewBox": "0 0 \(num(Self.width)) \(num(height))", "font-family": "sans-serif", "font-size": "11"])
        out.element("rect", ["x": "0", "y": "0", "width": num(Self.width), "height": num(height), "fill": "white"])
        out.text("Multicore benchmark: each figure's cost relative to Multicore's (log scale, lower is better)",
                 x: 10, y: 20, ["font-size": "14", "font-weight": "bold"])
        out.text(caption, x: 10, y: 36, ["fill": "#555"])
        drawLegend(&out, y: 54)
        drawRows(&out)
        if let scaling {
            drawScaling(&out, scaling, top: Self.rowsTop + Double(drawnRows.count) * Self.rowHeight + 40)
        }
        out.end("svg")
        return out.output
    }

    // MARK: the rows

    private static let multicoreMet = "#2ca02c", multicoreMissed = "#d62728", multicorePlain = "#7f7f7f"
    private static let pythonColor = "#1f77b4", peerColor = "#ff7f0e", rawColor = "#222222", goalColor = "#d62728"

    private func drawLegend(_ out: inout SVGText, y: Double) {
        var x = 10.0
        func entry(_ label: String, _ draw: (inout SVGText, Double) -> Void) {
            draw(&out, x + 6)
            out.text(label, x: x + 16, y: y + 4)
            x += 16 + Double(label.count) * 6.2 + 18
        }
        entry("Multicore (green: goal met, red: missed)") { out, x in Self.circle(&out, x: x, y: y, fill: Self.multicoreMet) }
        entry("CPython") { out, x in Self.square(&out, x: x, y: y, fill: Self.pythonColor) }
        entry("best peer (loky, pebble, joblib)") { out, x in Self.diamond(&out, x: x, y: y, fill: Self.peerColor) }
        entry("raw C") { out, x in Self.ring(&out, x: x, y: y) }
        entry("goal: at most this") { out, x in Self.goalBar(&out, x: x, y: y) }
    }

    private func drawRows(_ out: inout SVGText) {
        let scale = ratioScale
        let rows = drawnRows
        let top = Self.rowsTop, bottom = Self.rowsTop + Double(rows.count) * Self.rowHeight
        for (exponent, x) in scale.ticks {
            out.element("line", ["x1": num(x), "y1": num(top - 6), "x2": num(x), "y2": num(bottom),
                                 "stroke": exponent == 0 ? "#999" : "#ddd", "stroke-width": exponent == 0 ? "1.5" : "1"])
            let label = Self.ratioLabel(exponent)
            out.text(label, x: x, y: top - 10, ["text-anchor": "middle", "fill": "#555"])
            out.text(label, x: x, y: bottom + 14, ["text-anchor": "middle", "fill": "#555"])
        }
        out.text("Multicore's figure", x: Self.figureColumn, y: top - 10, ["fill": "#555"])
        for (index, row) in rows.enumerated() {
            guard let multicore = row.multicore else { continue }
            let y = top + (Double(index) + 0.5) * Self.rowHeight
            if index % 2 == 0 {
                out.element("rect", ["x": "5", "y": num(y - Self.rowHeight / 2), "width": num(Self.width - 10),
                                     "height": num(Self.rowHeight), "fill": "#f4f4f4"])
            }
            out.text(row.name, x: 10, y: y + 4, ["font-family": "monospace"])
            func figure(_ value: Double) -> String { humanFigure(value, unit: row.unit) + Self.unitSuffix(row.unit) }
            func relative(_ value: Double) -> String { " (" + timesText(value / multicore) + " Multicore's)" }
            if let limit = row.costLimit {
                Self.goalBar(&out, x: scale.position(limit / multicore), y: y, title: "goal: at most " + figure(limit) + relative(limit))
            }
            if let raw = row.raw {
                Self.ring(&out, x: scale.position(raw / multicore), y: y, title: "raw C: " + figure(raw) + relative(raw))
            }
            if let python = row.python {
                Self.square(&out, x: scale.position(python / multicore), y: y, fill: Self.pythonColor,
                            title: "CPython: " + figure(python) + relative(python))
            }
            if let best = row.bestPeer {
                let x = scale.position(best.value / multicore)
                Self.diamond(&out, x: x, y: y, fill: Self.peerColor, title: best.peer + ": " + figure(best.value) + relative(best.value))
                out.text(best.peer, x: x, y: y - 6, ["font-size": "8", "text-anchor": "middle", "fill": Self.peerColor])
            }
            let verdict = row.verdict
            let color = verdict == .met ? Self.multicoreMet : verdict == .missed ? Self.multicoreMissed : Self.multicorePlain
            Self.circle(&out, x: scale.position(1), y: y, fill: color, title: "Multicore: " + figure(multicore) + " (" + row.goalText + ")")
            let mark = verdict == .met ? " met" : verdict == .missed ? " MISSED" : ""
            out.text(figure(multicore) + mark, x: Self.figureColumn, y: y + 4, ["fill": verdict == .missed ? Self.multicoreMissed : "#222"])
        }
    }

    // MARK: the scaling panel

    private static let seriesColors = ["#2ca02c", "#9467bd", "#1f77b4", "#ff7f0e", "#8c564b"]

    private func drawScaling(_ out: inout SVGText, _ panel: ScalingPanel, top: Double) {
        out.text("Scaling: throughput against the number of workers (log scale, higher is better)",
                 x: 10, y: top, ["font-size": "13", "font-weight": "bold"])
        // One legend for every chart: their series come in the same order.
        var legendX = 14.0
        for (index, series) in (panel.charts.first?.series ?? []).enumerated() {
            let color = Self.seriesColors[index % Self.seriesColors.count]
            out.element("line", ["x1": num(legendX), "y1": num(top + 16), "x2": num(legendX + 16), "y2": num(top + 16),
                                 "stroke": color, "stroke-width": "2"])
            out.text(series.label, x: legendX + 20, y: top + 20)
            legendX += 20 + Double(series.label.count) * 6.2 + 24
        }
        let count = max(1, panel.charts.count)
        let chartWidth = (Self.width - 20) / Double(count)
        for (chartIndex, chart) in panel.charts.enumerated() {
            let left = 10 + Double(chartIndex) * chartWidth
            let plotLeft = left + 60, plotRight = left + chartWidth - 30
            let plotTop = top + 58, plotBottom = top + 40 + Self.chartHeight - 40
            out.text(chart.title, x: left + 60, y: top + 44, ["font-weight": "bold"])
            let values = chart.series.flatMap { $0.throughputs.compactMap { $0 } }
            let scale = LogScale(covering: values, limits: -3...12, start: plotBottom, end: plotTop)
            for (exponent, y) in scale.ticks {
                out.element("line", ["x1": num(plotLeft), "y1": num(y), "x2": num(plotRight), "y2": num(y), "stroke": "#ddd"])
                out.text(Self.decadeLabel(exponent), x: plotLeft - 6, y: y + 4, ["text-anchor": "end", "fill": "#555"])
            }
            out.text("tasks/s", x: left + 4, y: plotTop - 8, ["fill": "#555"])
            let xs = Self.workerPositions(panel.workers.count, from: plotLeft + 20, to: plotRight - 20)
            for (workers, x) in zip(panel.workers, xs) {
                out.text("\(workers)", x: x, y: plotBottom + 16, ["text-anchor": "middle", "fill": "#555"])
            }
            out.text("workers", x: (plotLeft + plotRight) / 2, y: plotBottom + 32, ["text-anchor": "middle", "fill": "#555"])
            for (seriesIndex, series) in chart.series.enumerated() {
                let color = Self.seriesColors[seriesIndex % Self.seriesColors.count]
                let points = zip(zip(panel.workers, xs), series.throughputs).compactMap { pair, value in
                    value.map { (workers: pair.0, x: pair.1, y: scale.position($0), value: $0) }
                }
                if points.count > 1 {
                    out.element("polyline", ["points": points.map { num($0.x) + "," + num($0.y) }.joined(separator: " "),
                                             "fill": "none", "stroke": color, "stroke-width": "2"])
                }
                for point in points {
                    Self.circle(&out, x: point.x, y: point.y, fill: color, radius: 3.5,
                                title: series.label + ", \(point.workers) worker(s): " + Self.countLabel(point.value) + " tasks/s")
                    out.text(Self.countLabel(point.value), x: point.x + 6, y: point.y - 5, ["font-size": "9", "fill": color])
                }
            }
        }
    }

    /// Evenly spaced places for the worker counts (1, 2, 4: a log-2 axis).
    static func workerPositions(_ count: Int, from start: Double, to end: Double) -> [Double] {
        guard count > 1 else { return [(start + end) / 2] }
        return (0..<count).map { start + (end - start) * Double($0) / Double(count - 1) }
    }

    // MARK: marks and labels

    static func decadeLabel(_ exponent: Int) -> String {
        switch exponent {
        case 0...2: return "1" + String(repeating: "0", count: exponent)
        case 3...5: return "1" + String(repeating: "0", count: exponent - 3) + "k"
        case 6...8: return "1" + String(repeating: "0", count: exponent - 6) + "M"
        case 9...11: return "1" + String(repeating: "0", count: exponent - 9) + "G"
        case ..<0: return "0." + String(repeating: "0", count: -exponent - 1) + "1"
        default: return "1e\(exponent)"
        }
    }

    /// A decade of the rows' axis: "0.01x", "1x", "1000x" (no "k": these are multiples).
    static func ratioLabel(_ exponent: Int) -> String {
        (exponent < 0 ? decadeLabel(exponent) : "1" + String(repeating: "0", count: exponent)) + "x"
    }

    static func countLabel(_ value: Double) -> String {
        value >= 1e6 ? cFormat("%.2fM", value / 1e6) : value >= 1e3 ? cFormat("%.1fk", value / 1e3) : cFormat("%.1f", value)
    }

    /// "s/task" gives "/task" (the figure itself says ns, us, ms or s); "s" and "kB" give nothing.
    static func unitSuffix(_ unit: String) -> String {
        unit.hasPrefix("s/") ? String(unit.dropFirst()) : ""
    }

    private static func titled(_ out: inout SVGText, _ name: String, _ attributes: KeyValuePairs<String, String>, title: String?) {
        guard let title else { return out.element(name, attributes) }
        out.begin(name, attributes)
        out.element("title", [:], content: title)
        out.end(name)
    }

    static func circle(_ out: inout SVGText, x: Double, y: Double, fill: String, radius: Double = 5, title: String? = nil) {
        titled(&out, "circle", ["cx": num(x), "cy": num(y), "r": num(radius), "fill": fill, "stroke": "white", "stroke-width": "1"], title: title)
    }

    static func square(_ out: inout SVGText, x: Double, y: Double, fill: String, title: String? = nil) {
        titled(&out, "rect", ["x": num(x - 4), "y": num(y - 4), "width": "8", "height": "8", "fill": fill], title: title)
    }

    static func diamond(_ out: inout SVGText, x: Double, y: Double, fill: String, title: String? = nil) {
        let points = [(x, y - 5.5), (x + 5.5, y), (x, y + 5.5), (x - 5.5, y)].map { num($0.0) + "," + num($0.1) }
        titled(&out, "polygon", ["points": points.joined(separator: " "), "fill": fill], title: title)
    }

    static func ring(_ out: inout SVGText, x: Double, y: Double, title: String? = nil) {
        titled(&out, "circle", ["cx": num(x), "cy": num(y), "r": "4", "fill": "none", "stroke": rawColor, "stroke-width": "1.5"], title: title)
    }

    static func goalBar(_ out: inout SVGText, x: Double, y: Double, title: String? = nil) {
        titled(&out, "rect", ["x": num(x - 1.5), "y": num(y - 8), "width": "3", "height": "16", "fill": goalColor, "fill-opacity": "0.8"],
               title: title)
    }
}

/// A number for an attribute: at most two decimals, no trailing zeros.
func num(_ value: Double) -> String {
    var text = cFormat("%.2f", value)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text == "-0" ? "0" : text
}

/// SVG (XML) text built element by element, every text and attribute value escaped.
struct SVGText {
    private(set) var output = ""

    static func escape(_ raw: String) -> String {
        var escaped = ""
        for character in raw {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    private func tag(_ name: String, _ attributes: KeyValuePairs<String, String>) -> String {
        "<" + name + attributes.map { " " + $0.key + "=\"" + Self.escape($0.value) + "\"" }.joined()
    }

    mutating func begin(_ name: String, _ attributes: KeyValuePairs<String, String>) {
        output += tag(name, attributes) + ">\n"
    }

    mutating func end(_ name: String) { output += "</" + name + ">\n" }

    mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String>, content: String? = nil) {
        if let content {
            output += tag(name, attributes) + ">" + Self.escape(content) + "</" + name + ">\n"
        } else {
            output += tag(name, attributes) + "/>\n"
        }
    }

    mutating func text(_ content: String, x: Double, y: Double, _ attributes: KeyValuePairs<String, String> = [:]) {
        output += tag("text", attributes) + " x=\"" + num(x) + "\" y=\"" + num(y) + "\">" + Self.escape(content) + "</text>\n"
    }
}
