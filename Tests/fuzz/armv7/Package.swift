// swift-tools-version:6.1
import PackageDescription

// The flash decoders' fuzz properties (../checks/FlashDecoders.swift) on a
// 32-bit board: AgentCore's real sources (a symlink) and the checks compiled
// as one module, built by cross/build.sh for armv7 in Embedded Swift and run
// under qemu-arm. A separate package, so nothing of it ships in camera-agent.
let package = Package(
  name: "flash-replay",
  products: [.executable(name: "flash-replay", targets: ["flash-replay"])],
  targets: [
    .systemLibrary(name: "CAgentSys", path: "Sources/CAgentSys"),
    .target(
      name: "AgentCore",
      dependencies: ["CAgentSys"],
      linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]
    ),
    // C main, as in camera-agent: Embedded Swift has no CommandLine.
    .executableTarget(name: "flash-replay", dependencies: ["AgentCore"]),
  ]
)
