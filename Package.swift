// swift-tools-version:6.2
//
// The library package. Benchmark-only dependencies (package-benchmark) live in the
// separate package under `Benchmarks/`. The dependencies below serve the command-line
// tools (swift-argument-parser; hdrhistogram-swift, which brings swift-numerics;
// swift-subprocess and swift-system, which run gnuplot, git and the like for the
// report) and the tests (the same two, for child processes). SwiftPM resolves only
// what the products a client uses need, so users who link `IntervalNotifier` fetch
// none of them. Tools version 6.2: swift-subprocess needs it.

import PackageDescription

let package = Package(
    name: "interval-notifier",
    products: [
        .library(name: "IntervalNotifier", targets: ["IntervalNotifier"]),
        // The harness's shared pieces (workload generators, threads), for the
        // separate Benchmarks package; not part of the library.
        .library(name: "NotifierHarness", targets: ["NotifierHarness"]),
        .executable(name: "notifier-stress", targets: ["notifier-stress"]),
        .executable(name: "notifier-bench", targets: ["notifier-bench"]),
        // C API: libinterval_notifier.so for C and C++ callers (header
        // Sources/CIntervalNotifierAPI/include/interval_notifier.h, installed with
        // scripts/install-c-library.sh, found through pkg-config interval-notifier).
        .library(name: "interval_notifier", type: .dynamic, targets: ["IntervalNotifierC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // Tests only (child processes); without its Foundation trait. SwiftPM
        // resolves a dependency only for the products a client uses, so users
        // of the library never fetch it.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2", traits: []),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // liburcu (memb flavour) seen through one header whose fast paths are
        // `static inline` under `_LGPL_SOURCE`, so that Swift inlines them.
        .systemLibrary(
            name: "CURCU",
            pkgConfig: "liburcu-memb",
            providers: [.apt(["liburcu-dev"])]
        ),
        // The qsbr flavour, in a module of its own (liburcu's flavour headers
        // define the same unprefixed macros).
        .systemLibrary(
            name: "CURCUQSBR",
            pkgConfig: "liburcu-qsbr",
            providers: [.apt(["liburcu-dev"])]
        ),
        // RCU flavours bp and mb (issue 14), each in a module of its own like qsbr:
        // bp needs no thread registration (a library inside someone else's
        // process); mb needs no membarrier(2) (full barriers in the readers).
        .systemLibrary(
            name: "CURCUBP",
            pkgConfig: "liburcu-bp",
            providers: [.apt(["liburcu-dev"])]
        ),
        .systemLibrary(
            name: "CURCUMB",
            pkgConfig: "liburcu-mb",
            providers: [.apt(["liburcu-dev"])]
        ),
        // The library's own C helpers: the per-thread callback marker, the
        // thread id, the spin-wait hint, the TSan hooks (libc only).
        .target(name: "CNotifierCore"),
        .target(
            name: "IntervalNotifier",
            dependencies: ["CURCU", "CURCUQSBR", "CURCUBP", "CURCUMB", "CNotifierCore"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // ---- C API (issue 14): the hand-written header and umn_strerror (C), and the
        // @c functions (Swift) that make up libinterval_notifier.so. Only the
        // `interval_notifier` product and Examples/c use them.
        .target(name: "CIntervalNotifierAPI"),
        .target(
            name: "IntervalNotifierC",
            dependencies: ["IntervalNotifier", "CIntervalNotifierAPI"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // ---- end of the C API block
        // The harness's C calls Swift cannot make directly: CPU affinity
        // (`_GNU_SOURCE` extensions of <sched.h>), libnuma, the reader-preferring
        // rwlock, atomics on plain memory. Never linked by the library.
        .target(
            name: "CNotifierHarness",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("numa")]
        ),
        // What the harnesses, the tests and the Benchmarks package share:
        // workload L, the xorshift generator, joinable pthreads, the thread-team runner.
        .target(
            name: "NotifierHarness",
            dependencies: ["IntervalNotifier"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The stress harness: simulated page table and device mirrors, pinned
        // fault/invalidate/churn generators, and the no-stale-mirror oracle.
        .target(
            name: "NotifierStress",
            dependencies: [
                "IntervalNotifier", "NotifierHarness", "CNotifierHarness",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The two commands' parsers, their validation (exit 64, one line) and
        // output-path checks (exit 73), in a library so the tests can parse
        // command lines; the executables only call their entry points.
        .target(
            name: "NotifierCommands",
            dependencies: [
                "NotifierBench", "NotifierStress", "IntervalNotifier",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "notifier-stress",
            dependencies: ["NotifierCommands"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // --- The tree benchmark's C baseline (issue 12 items 4-5) ---------------
        // A kernel-style intrusive augmented red-black interval tree that
        // `notifier-bench --workload tree` measures the engine's tree against,
        // in the same process. Benchmark side only: NotifierBench (and the
        // tests) depend on it, the library never does. C targets build at -O0
        // in debug and -O2 in release.
        .target(name: "CTreeBaseline"),
        // --- end of the tree benchmark's block --------------------------------
        // --- Registration cache peers (issue 13; benchmark side only) ---
        // UCX's ucs_rcache loaded with dlopen at run time (compiled to stubs
        // when <ucs/memory/rcache.h> is absent, so building and linking never
        // need libucx-dev), and the minimal userfaultfd round trip (the floor).
        .target(
            name: "CCachePeers",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),
        // --- end of registration cache peers ---
        // The strategy comparison suite: workloads, thread sweeps, report.
        .target(
            name: "NotifierBench",
            dependencies: [
                "IntervalNotifier", "NotifierHarness", "NotifierStress", "CNotifierHarness", "CTreeBaseline", "CCachePeers",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "notifier-bench",
            dependencies: ["NotifierCommands"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Checks that need a process of their own: leak patterns with live-object
        // counters and RSS, and misuse traps whose message must survive -c release.
        .executableTarget(
            name: "notifier-check",
            dependencies: ["IntervalNotifier"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "IntervalNotifierTests",
            dependencies: [
                "IntervalNotifier", "NotifierHarness", "NotifierStress", "NotifierBench", "NotifierCommands",
                "CTreeBaseline",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
