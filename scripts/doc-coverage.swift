// Documentation coverage of a symbol graph: every public symbol declared in the
// sources must have a doc comment. Run by scripts/docs.sh:
//     swift scripts/doc-coverage.swift DIR/IntervalNotifier.symbols.json [DIR/IntervalNotifier@*.symbols.json ...]
// A symbol without a source location is compiler-synthesised (Equatable's `!=`,
// Hashable's `hash(into:)` and `hashValue`, RawRepresentable's `init(rawValue:)`,
// members inherited from protocol extensions): no source line can carry its comment,
// so it is counted apart and listed, never failed. Exit 1 below 100 %.
import Foundation

var documented = 0
var undocumented: [String] = []
var synthesised: [String] = []
for path in CommandLine.arguments.dropFirst() {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard let graph = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let symbols = graph["symbols"] as? [[String: Any]] else {
        print("doc-coverage: \(path) is not a symbol graph"); exit(2)
    }
    for symbol in symbols {
        let names = (symbol["pathComponents"] as? [String]) ?? []
        let kind = ((symbol["kind"] as? [String: Any])?["identifier"] as? String) ?? "?"
        let name = "\(names.joined(separator: ".")) (\(kind))"
        let hasComment = ((symbol["docComment"] as? [String: Any])?["lines"] as? [Any])?.isEmpty == false
        if symbol["location"] == nil {
            if !hasComment { synthesised.append(name) }
        } else if hasComment {
            documented += 1
        } else {
            let location = symbol["location"] as? [String: Any]
            let file = (location?["uri"] as? String)?.split(separator: "/").last.map(String.init) ?? "?"
            let line = ((location?["position"] as? [String: Any])?["line"] as? Int).map { $0 + 1 } ?? 0
            undocumented.append("\(name) at \(file):\(line)")
        }
    }
}
let total = documented + undocumented.count
let percent = total == 0 ? 100.0 : Double(documented) * 100 / Double(total)
print("documentation coverage: \(documented) of \(total) public symbols declared in the sources documented (\(String(format: "%.1f", percent)) %)")
print("compiler-synthesised members without a source location (not counted): \(synthesised.count)")
for name in synthesised.sorted() { print("  synthesised: \(name)") }
if !undocumented.isEmpty {
    for name in undocumented.sorted() { print("  undocumented: \(name)") }
    print("doc-coverage: FAILED, \(undocumented.count) public symbol(s) without a doc comment")
    exit(1)
}
