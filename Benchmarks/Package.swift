// swift-tools-version:6.1
//
// Benchmarks for IntervalNotifier, as a separate package so that users of the
// library never resolve package-benchmark and its dependencies.
//
// Run from this directory:
//     swift package benchmark
// (see README.md)

import PackageDescription

let package = Package(
    name: "interval-notifier-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "interval-notifier", path: ".."),
        // The "MallocInterposer" trait alone: the default traits would also pull
        // in swift-runtime-interposer, which is not available offline here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Counting swift_retain/swift_release, linked into the benchmark executable:
        // package-benchmark's own ARC metrics crash with Swift 6.3 on Linux without
        // swift-runtime-interposer (see Sources/CARCCounter/carc_counter.c).
        .target(
            name: "CARCCounter",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        // What both executables share: measurement wrappers, counts, tolerances.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "IntervalNotifier", package: "interval-notifier"),
                .product(name: "NotifierHarness", package: "interval-notifier"),
                .product(name: "Benchmark", package: "benchmark"),
                "CARCCounter",
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The interval tree's fan-out probe (not package-benchmark): first hit and
        // update pair against an in-process reference, built once per fan-out
        // (scripts/tree-fanout-probe.sh; see the TreeDesign article).
        .executableTarget(
            name: "TreeFanoutProbe",
            dependencies: [
                .product(name: "IntervalNotifier", package: "interval-notifier"),
                .product(name: "NotifierHarness", package: "interval-notifier"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "TreeBenchmarks",
            dependencies: [
                .product(name: "IntervalNotifier", package: "interval-notifier"),
                .product(name: "NotifierHarness", package: "interval-notifier"),
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
            ],
            path: "Benchmarks/TreeBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "IntervalNotifier", package: "interval-notifier"),
                .product(name: "NotifierHarness", package: "interval-notifier"),
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
            ],
            path: "Benchmarks/EngineBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
