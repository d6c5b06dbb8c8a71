#!/bin/sh
# Builds the fan-out probe (Benchmarks/Sources/TreeFanoutProbe) once per fan-out
# (8, 16, 32) in release mode, then runs the three binaries in turn, ROUNDS
# times (8 16 32 8 16 32 ...), at N entries. Each run prints first hit and update
# pair per operation, and their ratio to an in-process binary-search reference.
# Usage: scripts/tree-fanout-probe.sh [N] [ROUNDS]   (defaults: 1000000 3)
set -eu
N=${1:-1000000}
ROUNDS=${2:-3}
cd "$(dirname "$0")/../Benchmarks"
for F in 8 16 32; do
    FLAG=""
    [ "$F" != 16 ] && FLAG="-Xswiftc -DINTERVAL_TREE_FANOUT_$F"
    # shellcheck disable=SC2086
    swift build -c release --product TreeFanoutProbe --scratch-path ".build-fanout$F" $FLAG 2>&1 | grep -E "error|Compiling|Build complete" || true
done
R=1
while [ "$R" -le "$ROUNDS" ]; do
    for F in 8 16 32; do
        echo "== round $R"
        ".build-fanout$F/release/TreeFanoutProbe" "$N" 5
    done
    R=$((R + 1))
done
