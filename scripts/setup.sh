#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine that has Swift:
# liburcu and libnuma headers (C shims), gnuplot (plots under results/), and
# optionally libucx-dev (the registration cache's peer benchmark).
# Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
[ -f /usr/include/x86_64-linux-gnu/urcu/urcu-memb.h ] || [ -f /usr/include/urcu/urcu-memb.h ] || need+=(liburcu-dev)
[ -f /usr/include/numa.h ] || need+=(libnuma-dev)
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# Optional: UCX (`ucs/memory/rcache.h`, libucs, libucm), the peer of
# `notifier-bench --workload cache`. Without it that workload measures only ours.
# SKIP_UCX=1 leaves it out.
if [ "${SKIP_UCX:-0}" != 1 ]; then
    [ -f /usr/include/ucs/memory/rcache.h ] || need+=(libucx-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
