// swift-tools-version: 6.1
import PackageDescription

let testSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

// Release builds of the platform (services, checkers, runner) skip Swift's dynamic exclusivity
// checks: they were an eighth of a run's instructions (swift_beginAccess on every class property
// access). Debug builds, which the tests use, keep them, so an overlapping access still traps
// there. SimKernel, the library product others depend on, carries no unsafe flag: its hot state
// sits behind pointers (see Simulation.core) and its run-time classes' properties are marked
// @exclusivity(unchecked) (docs/architecture.md, "Speed").
let platformSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

// Dependencies point one way: simrun -> Chaos -> SimServices -> SimKernel.
//
// The trait "Tools" (on by default) brings the simulator's own dependencies: Yams for scenario
// files, swift-argument-parser for simrun and swift-crypto for the platform's services. A package that wants SimKernel (or SimTesting)
// alone depends on this one with `traits: []` and resolves no other package (docs/library.md).
// A trait rather than a second package: SwiftPM cannot depend on a package in a subfolder of a
// repository, and the README's `swift run simrun` must keep working at the root.
let package = Package(
    name: "SynapseNetSim",
    products: [
        .library(name: "SimKernel", targets: ["SimKernel"]),
        // Seeds for tests of a user's own simulation (XCTest and Swift Testing): docs/library.md.
        .library(name: "SimTesting", targets: ["SimTesting"]),
        .executable(name: "simrun", targets: ["simrun"]),
    ],
    traits: [
        .trait(name: "Tools", description: "The simulator's scenarios and command line (Yams, swift-argument-parser)."),
        .default(enabledTraits: ["Tools"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // SHA-256, HMAC and constant-time comparison for the platform's security (issue 13).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(name: "SimKernel"),
        .target(name: "SimTesting", dependencies: ["SimKernel"]),
        // The system SQLite (libsqlite3-dev): results databases now, the simulated SQL databases later.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .target(name: "SimServices", dependencies: ["SimKernel", "CSQLite", .product(name: "Crypto", package: "swift-crypto", condition: .when(traits: ["Tools"]))],
                swiftSettings: platformSettings),
        .target(name: "Chaos", dependencies: ["SimServices", "SimKernel", "CSQLite", .product(name: "Yams", package: "Yams", condition: .when(traits: ["Tools"]))], swiftSettings: platformSettings),
        .executableTarget(
            name: "simrun",
            dependencies: [
                "Chaos", "SimServices", "SimKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Tools"])),
            ],
            // A release simrun carries the Swift runtime and Foundation inside it: calls into a
            // shared runtime go through the PLT and thread-local look-ups (__tls_get_addr), which
            // cost the M/M/1 benchmark a fifth of its time (docs/kernel.md, "DES primitives"). Debug
            // builds, which the tests drive, stay dynamic (faster to link). The modules were
            // compiled against the shared Foundation, whose objects do not name its own static
            // dependencies (ICU, CoreFoundation), so the link names them, as a group (they refer
            // to one another).
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "--start-group", "-Xlinker", "-lCoreFoundation", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationICU", "-Xlinker", "--end-group"], .when(configuration: .release))]
        ),
        // Tests deliberately create tasks that capture non-Sendable state: inside a simulation
        // everything runs on one thread. Swift 5 mode reports those captures as warnings.
        .testTarget(name: "SimKernelTests", dependencies: ["SimKernel"], swiftSettings: testSettings),
        // docs/library.md's example: a user's own system on SimKernel alone, built and tested by CI.
        .target(name: "FirstSimulation", dependencies: ["SimKernel"], path: "Examples/FirstSimulation", swiftSettings: testSettings),
        .testTarget(name: "FirstSimulationTests", dependencies: ["FirstSimulation", "SimKernel", "SimTesting"], swiftSettings: testSettings),
        .testTarget(name: "SimServicesTests", dependencies: ["SimServices", "SimKernel"], swiftSettings: testSettings),
        // ChaosTests also drive the simrun executable (exploration workers run in processes).
        .testTarget(name: "ChaosTests", dependencies: ["Chaos", "SimServices", "SimKernel", "simrun"], swiftSettings: testSettings),
    ]
)
