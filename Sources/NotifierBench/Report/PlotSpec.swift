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
