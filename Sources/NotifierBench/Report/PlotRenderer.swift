import Foundation

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
