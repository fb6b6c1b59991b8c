// swift-tools-version: 6.0
import PackageDescription

// Dependencies point one way: simrun -> Chaos -> SimServices -> SimKernel.
let package = Package(
    name: "SynapseNetSim",
    products: [
        .library(name: "SimKernel", targets: ["SimKernel"]),
        .executable(name: "simrun", targets: ["simrun"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "SimKernel"),
        .target(name: "SimServices", dependencies: ["SimKernel"]),
        .target(name: "Chaos", dependencies: ["SimServices", "SimKernel"]),
        .executableTarget(
            name: "simrun",
            dependencies: [
                "Chaos", "SimServices", "SimKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SimKernelTests", dependencies: ["SimKernel"]),
        .testTarget(name: "SimServicesTests", dependencies: ["SimServices", "SimKernel"]),
        .testTarget(name: "ChaosTests", dependencies: ["Chaos", "SimServices", "SimKernel"]),
    ]
)
