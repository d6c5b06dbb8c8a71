#!/usr/bin/env bash
# Plots RSS against time for notifier-stress runs (their --json files), one line per run:
#   scripts/plot-stress-rss.sh OUT.png RUN.json...
# writes OUT.dat, OUT.gp and OUT.png, and prints each run's 1-minute and peak RSS.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: scripts/plot-stress-rss.sh OUT.png RUN.json..." >&2; exit 64; }
swift "$(dirname "$0")/plot-stress-rss.swift" "$@"
gnuplot "${1%.png}.gp"
