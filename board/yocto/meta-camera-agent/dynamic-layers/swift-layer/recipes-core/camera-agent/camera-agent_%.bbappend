# With meta-swift (collection "swift-layer") in BBLAYERS: build with its Swift
# toolchain (swift-native, on PATH as swift-tools in the native sysroot)
# instead of one installed on the build host. The toolchain must carry
# Embedded Swift (lib/swift/embedded/, Swift 6.x): cross/build.sh stops with
# a message naming the missing file otherwise.
DEPENDS:append = " swift-native"
SWIFT_TOOLCHAIN_BIN = "${STAGING_BINDIR_NATIVE}/swift-tools"
