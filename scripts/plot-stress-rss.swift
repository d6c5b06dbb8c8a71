// Turns the RSS samples of notifier-stress runs (their --json files) into a gnuplot
// plot of RSS against time, one line per run: writes OUT.dat (the samples, one block
// per run) and OUT.gp (the script that draws OUT.png), and prints each run's figures.
// Usage: scripts/plot-stress-rss.sh OUT.png RUN.json... (runs this, then gnuplot).
import Foundation

struct Sample: Decodable { let seconds: Double; let bytes: Double }
struct RSS: Decodable {
    let samples: [Sample]
    let first_bytes: Double
    let at_1min_bytes: Double?
    let peak_after_first_bytes: Double
}
struct Run: Decodable { let strategy: String; let `protocol`: String; let seconds: Double; let clean: Bool; let rss: RSS }

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2, let output = arguments.first, output.hasSuffix(".png") else {
    FileHandle.standardError.write(Data("usage: swift scripts/plot-stress-rss.swift OUT.png RUN.json...\n".utf8))
    exit(64)
}
let base = String(output.dropLast(4))
var data = ""
var plots: [String] = []
for (index, path) in arguments.dropFirst().enumerated() {
    let run = try JSONDecoder().decode(Run.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    let mib = 1024.0 * 1024.0
    let oneMinute = run.rss.at_1min_bytes ?? run.rss.first_bytes
    let title = String(format: "%@ + %@, %.0f s, %@: 1 min %.1f MiB, peak %.1f MiB (%.2fx)", run.strategy, run.protocol,
                       run.seconds, run.clean ? "clean" : "VIOLATIONS", oneMinute / mib, run.rss.peak_after_first_bytes / mib,
                       run.rss.peak_after_first_bytes / oneMinute)
    print(title)
    data += "# \(title)\n" + run.rss.samples.map { String(format: "%.1f %.3f", $0.seconds / 60, $0.bytes / mib) }.joined(separator: "\n") + "\n\n\n"
    plots.append("'\(base).dat' index \(index) with lines lw 2 title \"\(title)\"")
}
try data.write(toFile: base + ".dat", atomically: true, encoding: .utf8)
let script = """
set terminal pngcairo size 1000,500
set output '\(output)'
set title 'notifier-stress resident memory (sampled every 10 s)'
set xlabel 'minutes'
set ylabel 'RSS (MiB)'
set yrange [0:*]
set key bottom right
set grid
plot \(plots.joined(separator: ", \\\n     "))
"""
try script.write(toFile: base + ".gp", atomically: true, encoding: .utf8)
