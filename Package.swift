// swift-tools-version:6.1
import PackageDescription

// One core, two modes: hosted for tests, Embedded for the board binaries.
// cross/build.sh builds the same `camera-agent` product for aarch64, armv7
// and x86_64 in Embedded mode; everything under AgentCore must compile there.
let package = Package(
  name: "camera-agent",
  products: [
    .executable(name: "camera-agent", targets: ["camera-agent"])
  ],
  targets: [
    // libc, libcurl and OpenSSL 3 behind typed static inline wrappers.
    .systemLibrary(name: "CAgentSys", path: "Sources/CAgentSys"),
    .target(
      name: "AgentCore",
      dependencies: ["CAgentSys"],
      // Embedded mode does not autolink the module map's `link` lines.
      linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]
    ),
    // A two-line C `main` hands argv to AgentCore (Embedded Swift has no CommandLine).
    .executableTarget(name: "camera-agent", dependencies: ["AgentCore"]),
    // Hosted only: in-memory and fault-injecting doubles shared by the tests
    // and the benchmark (never linked into the camera-agent binary).
    .target(name: "AgentTestSupport", dependencies: ["AgentCore"]),
    // Hosted only: what a token rotation costs (flash writes, fsyncs, crypto time).
    .executableTarget(name: "vault-bench", dependencies: ["AgentCore", "AgentTestSupport", "CAgentSys"]),
    .executableTarget(name: "fleet-sim", dependencies: ["AgentCore", "AgentTestSupport"]),
    // Hosted only: one device per seed through the real driver, client and
    // vault against random answers and power cuts; invariants after every step.
    .executableTarget(name: "swarm-sim", dependencies: ["AgentCore", "AgentTestSupport"]),
    .testTarget(name: "AgentCoreTests", dependencies: ["AgentCore", "AgentTestSupport", "camera-agent"]),
  ]
)
