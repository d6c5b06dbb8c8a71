#!/usr/bin/env bash
# Builds the DocC documentation of the IntervalNotifier library with the toolchain only
# (no package dependency, so library users resolve nothing extra) and checks it:
#   1. symbol graph of the public API: swift build --target IntervalNotifier with
#      -emit-symbol-graph, in its own scratch folder (.build-docs) so the flags do not
#      force rebuilds of .build;
#   2. docc convert of Sources/IntervalNotifier/IntervalNotifier.docc with
#      --warnings-as-errors (a broken symbol or article link fails);
#   3. documentation coverage: every public symbol declared in the sources has a doc
#      comment (scripts/doc-coverage.swift; DocC itself never warns about undocumented
#      symbols), else it fails. docc's own coverage summary is printed too.
# Output: .build-docs/IntervalNotifier.doccarchive (open with `docc preview` or serve
# statically). Usage: scripts/docs.sh   (CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-docs
graphs="$scratch/symbol-graphs"
archive="$scratch/IntervalNotifier.doccarchive"
# The graphs are written only when the target compiles: keep them between runs (an
# up-to-date build writes none), and rebuild from scratch if they are missing.
rm -rf "$graphs/library" "$archive"
mkdir -p "$graphs/all"
build_graphs() {
    swift build --target IntervalNotifier --scratch-path "$scratch" \
        -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs/all" 2>&1 | tail -1
}
echo "== symbol graph (swift build --target IntervalNotifier -emit-symbol-graph)"
build_graphs
if [ ! -f "$graphs/all/IntervalNotifier.symbols.json" ]; then
    echo "no symbol graph from an up-to-date build: rebuilding $scratch from scratch"
    rm -rf "$scratch"
    mkdir -p "$graphs/all"
    build_graphs
fi
# The flag emits graphs for the C modules too; docc gets the library's only.
mkdir -p "$graphs/library"
cp "$graphs/all"/IntervalNotifier.symbols.json "$graphs/library/"
cp "$graphs/all"/IntervalNotifier@*.symbols.json "$graphs/library/" 2>/dev/null || true
echo "== docc convert --warnings-as-errors"
docc convert Sources/IntervalNotifier/IntervalNotifier.docc \
    --additional-symbol-graph-dir "$graphs/library" \
    --fallback-display-name IntervalNotifier \
    --fallback-bundle-identifier org.interval-notifier.IntervalNotifier \
    --output-path "$archive" \
    --warnings-as-errors \
    --experimental-documentation-coverage --coverage-summary-level brief
echo "== documentation coverage of public symbols (scripts/doc-coverage.swift)"
swift scripts/doc-coverage.swift "$graphs/library"/*.symbols.json
echo "docs: $archive"
