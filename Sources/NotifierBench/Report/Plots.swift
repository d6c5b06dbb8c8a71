// The charts: which ones a run deserves, their gnuplot scripts and data, and
// rendering them to PNG.

import Foundation
import IntervalNotifier
import NotifierStress

/// Decides which charts a run deserves:
/// (a) for each (workload, parameters, protocol) with `ops/s` figures at more than
/// one thread count: throughput against threads, a line per strategy;
/// (b) `lookup` `ns/op` against tree size (log x) at 1 thread and at the
/// highest thread count, per writer setting (and any other parameters);
/// (c) `tree` `ns/op` against N (log x), one chart per operation, a line
/// for the engine's tree and one for the C red-black tree.
enum PlotPlanner {
    /// All charts, throughput first, each family in table order.
    static func plan(_ measurements: [BenchMeasurement]) -> [PlotSpec] {
        let index = MeasurementIndex(measurements)
        return throughput(index) + lookupCost(index) + treeCost(index)
    }

    /// Family (c).
    static func treeCost(_ index: MeasurementIndex) -> [PlotSpec] {
        var groups: [BenchParameters: [MeasurementKey]] = [:]
        for key in index.keys(workload: .tree, metric: .nanosecondsPerOperation) where key.threads == 1 {
            guard key.parameters.size != nil else { continue }
            groups[key.parameters.withoutSize, default: []].append(key)
        }
        return groups.keys.sorted().compactMap { rest -> PlotSpec? in
            let keys = groups[rest] ?? []
            guard Set(keys.map(\.parameters)).count > 1 else { return nil }
            let lines = lines(keys, index) { Double($0.parameters.size ?? 0) }
            let operation = rest.treeOperation?.rawValue ?? rest.label
            return PlotSpec(kind: .lookupCost, baseName: PlotSpec.baseName([BenchWorkload.tree.rawValue, rest.label, "threads=1"]),
                            title: "tree: \(operation) cost vs N, engine's tree (rcu) and C red-black tree "
                                + "(workload L, 1 thread, median of paired repetitions)",
                            xLabel: "intervals in the tree (N)", yLabel: "ns per operation", logX: true, lines: lines)
        }
    }

    /// Family (a).
    static func throughput(_ index: MeasurementIndex) -> [PlotSpec] {
        struct Group: Hashable, Comparable {
            var workload: BenchWorkload
            var parameters: BenchParameters
            var mirrorProtocol: MirrorProtocol?

            static func < (a: Group, b: Group) -> Bool {
                if a.workload != b.workload { return a.workload < b.workload }
                if a.parameters != b.parameters { return a.parameters < b.parameters }
                return protocolPrecedes(a.mirrorProtocol, b.mirrorProtocol)
            }
        }
        var groups: [Group: [MeasurementKey]] = [:]
        for key in index.values.keys where key.metric == .opsPerSecond {
            groups[Group(workload: key.workload, parameters: key.parameters, mirrorProtocol: key.mirrorProtocol),
                   default: []].append(key)
        }
        return groups.keys.sorted().compactMap { group in
            let keys = groups[group] ?? []
            guard Set(keys.map(\.threads)).count > 1 else { return nil }
            let lines = lines(keys, index) { Double($0.threads) }
            let context = [group.parameters.label, group.mirrorProtocol.label].filter { !$0.isEmpty && $0 != "-" }
                .joined(separator: ", ")
            let workload = group.workload.rawValue
            return PlotSpec(kind: .throughput,
                            baseName: PlotSpec.baseName([workload, group.parameters.label, group.mirrorProtocol.label]),
                            title: (context.isEmpty ? "\(workload): throughput"
                                : "\(workload): throughput (\(context))") + oversubscribedNote(keys, index),
                            xLabel: "threads", yLabel: "operations/s (all threads)", logX: false, lines: lines)
        }
    }

    /// Family (b).
    static func lookupCost(_ index: MeasurementIndex) -> [PlotSpec] {
        struct Group: Hashable, Comparable {
            var rest: BenchParameters
            var mirrorProtocol: MirrorProtocol?

            static func < (a: Group, b: Group) -> Bool {
                a.rest != b.rest ? a.rest < b.rest : protocolPrecedes(a.mirrorProtocol, b.mirrorProtocol)
            }
        }
        var groups: [Group: [MeasurementKey]] = [:]
        for key in index.keys(workload: .lookup, metric: .nanosecondsPerOperation) {
            guard key.parameters.size != nil else { continue }
            groups[Group(rest: key.parameters.withoutSize, mirrorProtocol: key.mirrorProtocol), default: []].append(key)
        }
        return groups.keys.sorted().flatMap { group -> [PlotSpec] in
            let keys = groups[group] ?? []
            let maxThreads = keys.map(\.threads).max() ?? 1
            return Set([1, maxThreads]).sorted().compactMap { threads -> PlotSpec? in
                let chosen = keys.filter { $0.threads == threads }
                guard Set(chosen.map(\.parameters)).count > 1 else { return nil }
                let lines = lines(chosen, index) { Double($0.parameters.size ?? 0) }
                let context = ([group.rest.label, group.mirrorProtocol.label].filter { !$0.isEmpty && $0 != "-" }
                    + ["\(threads) thread\(threads == 1 ? "" : "s")"]).joined(separator: ", ")
                return PlotSpec(kind: .lookupCost,
                                baseName: PlotSpec.baseName([BenchWorkload.lookup.rawValue, group.rest.label,
                                                             group.mirrorProtocol.label, "threads=\(threads)"]),
                                title: "lookup: cost vs tree size (\(context))",
                                xLabel: "subscriptions in the tree", yLabel: "ns per lookup", logX: true, lines: lines)
            }
        }
    }

    /// `, oversubscribed at threads 3, 4` when some of `keys` ran more threads
    /// than CPUs (their points measure time sharing), else nothing.
    static func oversubscribedNote(_ keys: [MeasurementKey], _ index: MeasurementIndex) -> String {
        let threads = Set(keys.filter(index.isOversubscribed).map(\.threads)).sorted()
        guard !threads.isEmpty else { return "" }
        return ", oversubscribed at threads \(threads.map(String.init).joined(separator: ", "))"
    }

    /// One line per strategy of `keys`, x chosen by `x`, points ascending.
    private static func lines(_ keys: [MeasurementKey], _ index: MeasurementIndex,
                              x: (MeasurementKey) -> Double) -> [PlotSpec.Line] {
        Set(keys.map(\.strategy)).sorted().map { strategy in
            let points = keys.filter { $0.strategy == strategy }
                .compactMap { key in index[key].map { PlotSpec.Point(x: x(key), y: $0) } }
                .filter { $0.y.isFinite }
                .sorted { $0.x < $1.x }
            return PlotSpec.Line(side: strategy, points: points)
        }.filter { !$0.points.isEmpty }
    }
}

/// One chart to draw: lines of (x, y) points, one per strategy.
struct PlotSpec: Equatable {
    /// Which family the chart belongs to (README sections).
    enum Kind: Equatable {
        /// Throughput against thread count.
        case throughput
        /// Lookup cost against tree size.
        case lookupCost
    }

    /// One line of the chart.
    struct Line: Equatable {
        /// The side the line shows.
        var side: BenchSide
        /// Legend text: the side's name.
        var title: String { side.name }
        /// Points in ascending x.
        var points: [Point]
    }

    /// One point of a line.
    struct Point: Equatable {
        var x: Double
        var y: Double
    }

    /// The family.
    var kind: Kind
    /// File name without extension: `.gp`, `.dat` and `.png` share it.
    var baseName: String
    /// Chart title.
    var title: String
    /// X axis label.
    var xLabel: String
    /// Y axis label.
    var yLabel: String
    /// Logarithmic x axis.
    var logX: Bool
    /// The lines, in side order.
    var lines: [Line]

    /// The distinct x values of all lines, ascending.
    var xValues: [Double] { Set(lines.flatMap { $0.points.map(\.x) }).sorted() }

    /// A file name part made of `[A-Za-z0-9._-]`: `=` becomes `-`, spaces
    /// become `_`, `/` becomes `-per-`, anything else `-`.
    static func slug(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_": result.append(character)
            case "=": result.append("-")
            case "/": result += "-per-"
            case _ where character.isWhitespace: result.append("_")
            case "%": result += "pct"
            default: result.append("-")
            }
        }
        return result
    }

    /// Parts slugged and joined by `_`, empty parts and the `-` protocol left out.
    static func baseName(_ parts: [String]) -> String {
        parts.filter { !$0.isEmpty && $0 != "-" }.map(slug).joined(separator: "_")
    }
}

/// The text of a chart's gnuplot data file (one block per line, separated by
/// two blank lines so that `index N` selects a line) and of its script, which
/// reads `<base>.dat` and writes `<base>.png` in its own directory.
enum GnuplotScript {
    /// The PNG terminal to use: `pngcairo` (antialiased) or plain `png` (libgd).
    enum Terminal: String {
        case pngcairo
        case png
    }

    /// The data file text.
    static func data(_ spec: PlotSpec) -> String {
        spec.lines.map { line in
            "# \(line.title)\n" + line.points.map { "\(number($0.x)) \(number($0.y))\n" }.joined()
        }.joined(separator: "\n\n")
    }

    /// The script text.
    static func script(_ spec: PlotSpec, terminal: Terminal) -> String {
        let font = terminal == .pngcairo ? " font 'sans,10'" : ""
        var lines = [
            "# Generated by notifier-bench; run `gnuplot \(spec.baseName).gp` in this directory.",
            "set terminal \(terminal.rawValue) noenhanced size 900,540\(font)",
            "set output \(quoted(spec.baseName + ".png"))",
            "set title \(quoted(spec.title))",
            "set xlabel \(quoted(spec.xLabel))",
            "set ylabel \(quoted(spec.yLabel))",
            "set grid",
            "set key outside right top",
            "set yrange [0:*]",
            spec.kind == .throughput ? "set format y '%.1s%c'" : "set format y '%g'",
        ]
        if spec.logX {
            lines += ["set logscale x 10", "set format x '%.0s%c'"]
            if let low = spec.xValues.first, let high = spec.xValues.last, low > 0 {
                lines.append("set xrange [\(number(low / 2)):\(number(high * 2))]")
            }
        } else {
            let tics = spec.xValues.map { "\(number($0))" }.joined(separator: ", ")
            lines.append("set xtics (\(tics))")
            if let low = spec.xValues.first, let high = spec.xValues.last, high > low {
                let pad = (high - low) * 0.05
                lines.append("set xrange [\(number(low - pad)):\(number(high + pad))]")
            }
        }
        let data = quoted(spec.baseName + ".dat")
        let plots = spec.lines.enumerated().map { offset, line in
            "\(offset == 0 ? data : "''") index \(offset) using 1:2 with linespoints \(style(line.side)) "
                + "title \(quoted(line.title))"
        }
        lines.append("plot " + plots.joined(separator: ", \\\n     "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Line colours by strategy, the same in every chart; other strategies
    /// get gnuplot's default sequence.
    static let colours: [BenchSide: String] = [
        .registry(.rcu(.memb)): "#1f77b4", .registry(.rcu(.qsbr)): "#17becf", .registry(.rcu(.bp)): "#9467bd",
        .registry(.rcu(.mb)): "#8c564b", .registry(.kernel): "#2ca02c", .registry(.rwlock): "#ff7f0e",
        .registry(.mutex): "#d62728", .unsynchronized: "#7f7f7f", .readSectionOnly: "#bcbd22",
    ]

    /// The line style of `strategy`: its colour, dashed for the lookup baselines.
    static func style(_ side: BenchSide) -> String {
        var style = "lw 2 pt 7"
        if let colour = colours[side] { style += " lc rgb '\(colour)'" }
        if side == .unsynchronized || side == .readSectionOnly { style += " dt 2" }
        return style
    }

    /// A gnuplot single-quoted string (a quote inside is doubled).
    static func quoted(_ text: String) -> String {
        "'" + text.replacing("'", with: "''") + "'"
    }

    /// A number gnuplot reads: integers without a fraction, others in full precision.
    private static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// What drawing the charts produced.
struct PlotOutcome {
    /// A rendered chart: its spec and the PNG path relative to the report directory.
    struct Image {
        var spec: PlotSpec
        var relativePath: String
    }

    /// Every file written (scripts, data, images), full paths.
    var written: [String] = []
    /// The charts rendered to PNG.
    var images: [Image] = []
    /// Why no chart was rendered at all (gnuplot missing), if so.
    var skipped: String?
    /// Charts gnuplot failed to render, with its message.
    var failures: [String] = []
}

/// Writes each chart's `.gp` script and `.dat` data into `<report>/plots/`,
/// then runs gnuplot on it (through `ExternalCommand`) to produce the PNG.
/// Without gnuplot the scripts and data are still written.
enum PlotRenderer {
    /// Subdirectory of the report directory that holds the charts.
    static let subdirectory = "plots"

    /// Renders `specs` under `reportDirectory/plots`, first removing the
    /// `.gp`, `.dat` and `.png` files of an earlier report there.
    static func render(_ specs: [PlotSpec], reportDirectory: String) async throws(BenchReportError) -> PlotOutcome {
        let directory = (reportDirectory as NSString).appendingPathComponent(subdirectory)
        var outcome = PlotOutcome()
        try ReportFiles.createDirectory(directory)
        try removeEarlierCharts(in: directory)
        guard !specs.isEmpty else { return outcome }
        let found = ExternalCommand.locate("gnuplot") != nil
        let terminal = found ? await detectTerminal() : nil
        if !found {
            outcome.skipped = "gnuplot is not on PATH (install gnuplot-nox, see scripts/setup.sh)"
        } else if terminal == nil {
            outcome.skipped = "this gnuplot has neither the pngcairo nor the png terminal"
        }
        for spec in specs {
            let script = (directory as NSString).appendingPathComponent(spec.baseName + ".gp")
            let data = (directory as NSString).appendingPathComponent(spec.baseName + ".dat")
            try ReportFiles.write(GnuplotScript.data(spec), to: data)
            try ReportFiles.write(GnuplotScript.script(spec, terminal: terminal ?? .pngcairo), to: script)
            outcome.written += [script, data]
            guard terminal != nil else { continue }
            let image = (directory as NSString).appendingPathComponent(spec.baseName + ".png")
            do {
                let output = try await ExternalCommand.run("gnuplot", [spec.baseName + ".gp"], in: directory, timeout: 60)
                if output.succeeded, FileManager.default.fileExists(atPath: image) {
                    outcome.written.append(image)
                    outcome.images.append(PlotOutcome.Image(spec: spec, relativePath: "\(subdirectory)/\(spec.baseName).png"))
                } else {
                    let message = output.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                    outcome.failures.append("\(spec.baseName).gp: gnuplot exit \(output.status): \(message)")
                }
            } catch {
                outcome.failures.append("\(spec.baseName).gp: \(error)")
            }
        }
        return outcome
    }

    /// `pngcairo` when this gnuplot has it, else `png`; nil when gnuplot cannot run.
    private static func detectTerminal() async -> GnuplotScript.Terminal? {
        for terminal in [GnuplotScript.Terminal.pngcairo, .png] {
            if let output = try? await ExternalCommand.run("gnuplot", ["-e", "set terminal \(terminal.rawValue)"],
                                                     timeout: 20),
               output.succeeded, output.standardError.isEmpty {
                return terminal
            }
        }
        return nil
    }

    private static func removeEarlierCharts(in directory: String) throws(BenchReportError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .cannotWrite(directory, "\(error)")
        }
        for name in names where [".gp", ".dat", ".png"].contains(where: { name.hasSuffix($0) }) {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw .cannotWrite(path, "cannot remove the earlier chart: \(error)")
            }
        }
    }
}
