// swift-tools-version:6.1
// A consumer of the library, as a user's package would be: it depends on the
// `IntervalNotifier` product only and sees only its public API.
import PackageDescription

let package = Package(
    name: "device-mirror",
    dependencies: [.package(name: "interval-notifier", path: "../..")],
    targets: [
        .executableTarget(
            name: "DeviceMirror",
            dependencies: [.product(name: "IntervalNotifier", package: "interval-notifier")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
