#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine that has Swift:
# liburcu and libnuma headers (C shims), and gnuplot (plots under results/).
# Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
[ -f /usr/include/x86_64-linux-gnu/urcu/urcu-memb.h ] || [ -f /usr/include/urcu/urcu-memb.h ] || need+=(liburcu-dev)
[ -f /usr/include/numa.h ] || need+=(libnuma-dev)
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
