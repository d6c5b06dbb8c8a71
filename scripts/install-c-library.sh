#!/usr/bin/env bash
# Builds the C API (libinterval_notifier.so, SwiftPM product `interval_notifier`) and
# installs it with its header and pkg-config file:
#   PREFIX/lib/libinterval_notifier.so
#   PREFIX/include/interval_notifier.h
#   PREFIX/lib/pkgconfig/interval-notifier.pc   (paths in it point into PREFIX)
# Then: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc app.c $(pkg-config --cflags --libs interval-notifier)
# (add -Wl,-rpath,PREFIX/lib or set LD_LIBRARY_PATH when PREFIX/lib is not a system library folder).
#
# Usage: scripts/install-c-library.sh [--prefix DIR] [--configuration debug|release] [--static-stdlib]
#   --prefix          default /usr/local
#   --configuration   default release
#   --static-stdlib   link the Swift runtime into the library (10 MB, needs only
#                     libc, libm, libstdc++, libgcc_s and liburcu); without it the library
#                     finds the Swift runtime through its RUNPATH in this toolchain.
#                     Builds in its own scratch folder (.build-c-static).
set -euo pipefail
caller="$(pwd)"
cd "$(dirname "$0")/.."
prefix=/usr/local
configuration=release
static=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --configuration) configuration="$2"; shift 2 ;;
        --static-stdlib) static=1; shift ;;
        *) echo "install-c-library.sh: unknown argument $1 (see the comment at the top)" >&2; exit 64 ;;
    esac
done
case "$configuration" in debug|release) ;; *) echo "install-c-library.sh: --configuration must be debug or release, not $configuration" >&2; exit 64 ;; esac

build_flags=(-c "$configuration" --product interval_notifier)
if [ "$static" = 1 ]; then build_flags+=(--scratch-path .build-c-static -Xswiftc -static-stdlib); fi
swift build "${build_flags[@]}" >&2
bin="$(swift build "${build_flags[@]}" --show-bin-path)"

version="$(sed -n 's/^#define UMN_VERSION "\(.*\)"$/\1/p' Sources/CIntervalNotifierAPI/include/interval_notifier.h)"
[ -n "$version" ] || { echo "install-c-library.sh: no UMN_VERSION in interval_notifier.h" >&2; exit 1; }
case "$prefix" in /*) ;; *) prefix="$caller/$prefix" ;; esac   # relative to where it was called
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
prefix="$(cd "$prefix" && pwd)"
install -m 0755 "$bin/libinterval_notifier.so" "$prefix/lib/libinterval_notifier.so"
install -m 0644 Sources/CIntervalNotifierAPI/include/interval_notifier.h "$prefix/include/interval_notifier.h"
cat > "$prefix/lib/pkgconfig/interval-notifier.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: interval-notifier
Description: Interval notifiers with the Linux kernel's mmu_interval_notifier semantics, on userspace RCU (C API)
Version: $version
Libs: -L\${libdir} -linterval_notifier
Cflags: -I\${includedir}
PC
echo "installed libinterval_notifier.so ($configuration$([ "$static" = 1 ] && echo ', static Swift runtime')), interval_notifier.h and interval-notifier.pc $version under $prefix"
