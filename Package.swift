// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Multicore",
    products: [
        // The umbrella: `import Multicore` gives threads, processes and pools.
        .library(name: "Multicore", targets: ["Multicore"]),
        // Python's threading, queue and the thread side of concurrent.futures.
        .library(name: "MulticoreThreading", targets: ["MulticoreThreading"]),
        // Python's multiprocessing: processes, pipes, queues, shared memory, the wire format.
        .library(name: "MulticoreProcessing", targets: ["MulticoreProcessing"]),
        // Process pools that never hang and never lose a task: ProcessPoolExecutor, Pool, ThreadPool.
        .library(name: "MulticorePool", targets: ["MulticorePool"]),
        // Python's Listener and Client: connections between processes that did not start each
        // other, Python's among them. Not in the umbrella: its HMAC library stays out of workers.
        .library(name: "MulticoreListener", targets: ["MulticoreListener"]),
        // Pools as services of a swift-service-lifecycle ServiceGroup: drained on graceful
        // shutdown. Not in the umbrella: the core, and its workers, do not link the library.
        .library(name: "MulticoreServiceLifecycle", targets: ["MulticoreServiceLifecycle"]),
        // Distributed actors hosted in child processes (Python's Manager, typed). Not in the
        // umbrella: programs that do not use it, and their workers, do not link it.
        .library(name: "MulticoreActors", targets: ["MulticoreActors"]),
        // The pool across machines on PostgreSQL: `Cluster` submits, `ClusterNode` runs. Not in
        // the umbrella: postgres-nio (and SwiftNIO, Foundation) stay out of programs and workers
        // that do not use it.
        .library(name: "MulticoreCluster", targets: ["MulticoreCluster"]),
        .executable(name: "multicore", targets: ["MulticoreCLI"]),
        // `multicore-cluster status | node | map | soak | bench`: the cluster's queue, a node serving
        // the doubler, a map, the chaos soak, the cluster rows of the benchmark. An executable of
        // its own, so that `multicore` and its workers do not link postgres-nio; `multicore
        // cluster ...` and `multicore bench --cluster` run it.
        .executable(name: "multicore-cluster", targets: ["MulticoreClusterCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // HMAC-MD5 and HMAC-SHA256 for the Listener/Client handshake (MulticoreListener only).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // FileDescriptor and Errno for the system layer (MulticoreSystem).
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The pools' optional `logger:` (its `Logging` module does not import Foundation).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The pools' metrics (its `CoreMetrics` module does not import Foundation).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Service and ServiceGroup (MulticoreServiceLifecycle only).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The PostgreSQL client of the cluster (MulticoreCluster only).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // postgres-nio's TLS: a test builds a configuration that asks for it (and is refused).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // What Glibc does not import (futex, gettid, thread names), compiled with _GNU_SOURCE.
        .target(name: "CMulticore"),
        // The system layer: every system call the other modules make, wrapped once, with one
        // EINTR policy, errors as `Errno`, and a fault injector for tests. No public API.
        .target(
            name: "MulticoreSystem",
            dependencies: ["CMulticore", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        .target(
            name: "MulticoreThreading",
            dependencies: [
                "CMulticore", "MulticoreSystem",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MulticoreProcessing",
            dependencies: [
                "MulticoreThreading", "MulticoreSystem", "CMulticore",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MulticorePool",
            dependencies: [
                "MulticoreThreading", "MulticoreProcessing", "MulticoreSystem", "CMulticore",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MulticoreListener",
            dependencies: ["MulticoreProcessing", "MulticoreThreading", "MulticoreSystem", "CMulticore", .product(name: "SystemPackage", package: "swift-system"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "MulticoreServiceLifecycle",
            dependencies: ["MulticorePool", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict
        ),
        .target(
            name: "MulticoreActors",
            dependencies: ["MulticoreProcessing", "MulticoreSystem", "MulticoreThreading"],
            swiftSettings: strict
        ),
        .target(
            name: "MulticoreCluster",
            dependencies: [
                "MulticorePool", "MulticoreProcessing", "MulticoreThreading",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "Multicore", dependencies: ["MulticoreThreading", "MulticoreProcessing", "MulticorePool"], swiftSettings: strict),
        // The crash soak (`multicore soak` and its test): a tool, not library API.
        .target(name: "MulticoreSoak", dependencies: ["MulticorePool", "MulticoreProcessing", "MulticoreThreading"], swiftSettings: strict),
        // The raw pthread references the benchmark compares against; linked by the CLI only.
        .target(name: "CMulticoreBench"),
        // The benchmark's report: rows and goals (peers included), JSON, and the SVG picture.
        // Plain Swift without Foundation (the CLI's workers are copies of it); tested on its own.
        .target(name: "MulticoreBenchReport", swiftSettings: strict),
        .executableTarget(
            name: "MulticoreCLI",
            dependencies: [
                "Multicore",
                // The actor rows (`actor.call`, `actor.host_death_detect`).
                "MulticoreActors",
                "MulticoreSoak",
                "CMulticoreBench",
                "MulticoreBenchReport",
                "MulticoreSystem",
                // The benchmark's metrics backend (`executor.processes.submit.metrics`).
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "MulticoreClusterCLI",
            dependencies: [
                "MulticoreCluster", "MulticorePool", "MulticoreProcessing", "MulticoreThreading", "MulticoreSystem",
                // The cluster rows of the benchmark (`multicore-cluster bench`): the row type, and
                // the bare client of their raw references.
                "MulticoreBenchReport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // What every test target shares: the test deadline, bounded polling, the child reaper.
        .target(
            name: "MulticoreTestSupport",
            dependencies: ["MulticoreThreading", "MulticoreProcessing", "MulticoreSystem", .product(name: "Logging", package: "swift-log")],
            path: "Tests/MulticoreTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticoreThreadingTests",
            dependencies: ["MulticoreThreading", "CMulticore", "MulticoreTestSupport", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticoreProcessingTests",
            dependencies: ["MulticoreProcessing", "MulticoreSystem", "MulticoreTestSupport", .product(name: "SystemPackage", package: "swift-system"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // A program whose tasks read constants of main.swift (enterWorkerIfChild), run by the tests.
        .executableTarget(
            name: "MainGlobalsExample",
            dependencies: ["Multicore"],
            path: "Tests/MainGlobalsExample",
            swiftSettings: strict
        ),
        // A ServiceGroup running pools, shut down by a real SIGTERM: run by the tests.
        .executableTarget(
            name: "PoolServiceExample",
            dependencies: [
                "Multicore", "MulticoreServiceLifecycle", "MulticoreTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PoolServiceExample",
            swiftSettings: strict
        ),
        // The task types the cluster tests send, shared by the tests and the node they start.
        .target(
            name: "ClusterTestTasks",
            dependencies: ["MulticoreProcessing", "MulticoreCluster"],
            path: "Tests/ClusterTestTasks",
            swiftSettings: strict
        ),
        // A cluster node in a process of its own (SIGSTOPped and SIGKILLed by the tests).
        .executableTarget(
            name: "ClusterNodeExample",
            dependencies: ["MulticoreCluster", "ClusterTestTasks", "MulticoreThreading", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ClusterNodeExample",
            swiftSettings: strict
        ),
        // Fetches durable jobs' outcomes by id in a process of its own (the tests' other process).
        .executableTarget(
            name: "ClusterJobReader",
            dependencies: ["MulticoreCluster"],
            path: "Tests/ClusterJobReader",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticoreClusterTests",
            dependencies: ["MulticoreCluster", "ClusterTestTasks", "MulticoreTestSupport", "MulticoreThreading", "MulticoreProcessing",
                           "MulticoreBenchReport",
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Every public name, unqualified, next to Foundation, Glibc and Dispatch: a clash breaks its build.
        .testTarget(
            name: "MulticoreNamesTests",
            dependencies: ["Multicore", "MulticoreActors", "MulticoreListener", "MulticoreServiceLifecycle", "MulticoreCluster"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticoreActorsTests",
            dependencies: ["MulticoreActors", "MulticoreProcessing", "MulticoreThreading", "MulticoreTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticoreBenchReportTests",
            dependencies: ["MulticoreBenchReport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticoreListenerTests",
            dependencies: ["MulticoreListener", "MulticoreProcessing", "MulticoreTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MulticorePoolTests",
            dependencies: ["MulticorePool", "MulticoreSoak", "MulticoreProcessing", "MulticoreThreading", "MulticoreSystem", "MulticoreTestSupport",
                           .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: strict
        ),
    ]
)
