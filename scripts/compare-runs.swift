// Run-to-run spread of the targets of several notifier-bench reports: for each
// target, its measured value in every run, the median over the runs, and the
// largest relative distance of one run from that median (issue 11 asks for every
// ratio target within 10 % of the median of three full runs).
//     swift scripts/compare-runs.swift RUN1/bench.json RUN2/bench.json RUN3/bench.json
// Prints one Markdown table on stdout. Reads only the reports' typed `targets`.
import Foundation

struct Target: Decodable {
    let name: String
    let measured: Double?
    let status: String
    let unit: String
}

struct Report: Decodable {
    let targets: [Target]
}

let paths = Array(CommandLine.arguments.dropFirst())
guard paths.count >= 2 else {
    FileHandle.standardError.write(Data("usage: swift scripts/compare-runs.swift A/bench.json B/bench.json ...\n".utf8))
    exit(64)
}
let reports: [Report] = paths.map { path in
    do {
        return try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        FileHandle.standardError.write(Data("compare-runs: \(path): \(error)\n".utf8))
        exit(66)
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func format(_ value: Double, _ unit: String) -> String {
    if value >= 1_000 { return String(format: "%.0f K", value / 1_000) }
    return String(format: value >= 10 ? "%.1f" : "%.2f", value) + (unit == "x" || unit.isEmpty ? "" : " \(unit)")
}

print("| target | " + paths.indices.map { "run \($0 + 1)" }.joined(separator: " | ") + " | median | largest distance from the median | within ±10 % |")
print("|---|" + String(repeating: "---:|", count: paths.count) + "---:|---:|---|")
var within = 0
for name in reports[0].targets.map(\.name) {
    let found = reports.map { report in report.targets.first { $0.name == name } }
    let values = found.compactMap { $0?.measured }
    guard values.count == reports.count, let unit = found.first??.unit else {
        print("| `\(name)` | not in every run |"); continue
    }
    let middle = median(values)
    let distance = values.map { abs($0 / middle - 1) }.max() ?? 0
    if distance <= 0.10 { within += 1 }
    let cells = found.map { target in
        target.map { format($0.measured ?? 0, unit) + ($0.status == "pass" ? "" : " (miss)") } ?? "-"
    }
    print("| `\(name)` | " + cells.joined(separator: " | ")
          + " | \(format(middle, unit)) | \(String(format: "%.0f %%", distance * 100)) | \(distance <= 0.10 ? "yes" : "**no**") |")
}
print("\n\(within) of \(reports[0].targets.count) targets within ±10 % of their median over \(reports.count) runs.")
