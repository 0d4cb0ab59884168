SUMMARY = "camera-agent: cloud credentials and status reports for Linux ARM cameras"
DESCRIPTION = "Keeps the camera's device credentials in an encrypted vault, \
               activates with the cloud (OAuth 2.0 device grant, private_key_jwt, DPoP) and \
               reports the firmware version. One binary, built in Embedded Swift by the \
               project's cross/build.sh against this recipe's sysroot."
SECTION = "net"
# The project has no license file yet: change when it does.
LICENSE = "CLOSED"

# libcurl must use OpenSSL as its TLS backend (curl's PACKAGECONFIG "openssl",
# poky's default) and libcrypto must be OpenSSL 3.
DEPENDS = "curl openssl"

# The layer lives inside the project (board/yocto/meta-camera-agent), so the
# recipe builds the checkout it sits in. For a release build, replace with a
# git SRC_URI and SRCREV of the project and drop externalsrc.
inherit externalsrc
EXTERNALSRC ?= "${@os.path.abspath(os.path.join(d.getVar('THISDIR'), '../../../../..'))}"
# cross/build.sh writes out/ and .build-<target>/ inside the package folder.
EXTERNALSRC_BUILD ?= "${EXTERNALSRC}"

inherit update-rc.d systemd

COMPATIBLE_HOST = "(aarch64|arm).*-linux.*"
CAMERA_AGENT_TARGET = ""
CAMERA_AGENT_TARGET:aarch64 = "aarch64"
CAMERA_AGENT_TARGET:arm = "armv7"
# Which board/<board>/ folder provides agent.conf, the init script and the
# unit (falling back to board/agent.conf.example and board/common/).
CAMERA_AGENT_BOARD ?= "qemu-virt-aarch64"
CAMERA_AGENT_BOARD:arm ?= "armv7-cortex-a7-camera"
CAMERA_AGENT_ARMV7_CPU ?= "cortex-a7"
# Bin folder of a Swift 6.3 toolchain on the build host (swiftc, swift,
# ld.lld); empty: swiftc on PATH. Yocto does not build Swift.
SWIFT_TOOLCHAIN_BIN ?= ""

do_configure[noexec] = "1"

do_compile[doc] = "Build camera-agent in Embedded Swift with cross/build.sh against RECIPE_SYSROOT"
do_compile() {
    # Yocto's compiler variables are for its gcc; the Swift toolchain's clang
    # and ld.lld take their options from cross/build.sh's toolset.
    unset CC CXX CPP LD CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
    if [ -n "${SWIFT_TOOLCHAIN_BIN}" ]; then
        export PATH="${SWIFT_TOOLCHAIN_BIN}:$PATH"
    fi
    cd ${S}
    case "${CAMERA_AGENT_TARGET}" in
    aarch64)
        SYSROOT_AARCH64="${RECIPE_SYSROOT}" TRIPLE_AARCH64="${TARGET_SYS}" \
            ./cross/build.sh aarch64 ;;
    armv7)
        SYSROOT_ARMV7="${RECIPE_SYSROOT}" TRIPLE_ARMV7="${TARGET_SYS}" \
            CPU_ARMV7="${CAMERA_AGENT_ARMV7_CPU}" ./cross/build.sh armv7 ;;
    *)
        bbfatal "camera-agent builds for aarch64 and armv7 hard-float only" ;;
    esac
}

# $1 board file name, $2 fallback under board/: prints the first that exists.
camera_agent_pick() {
    if [ -e "${S}/board/${CAMERA_AGENT_BOARD}/$1" ]; then
        echo "${S}/board/${CAMERA_AGENT_BOARD}/$1"
    else
        echo "${S}/board/$2"
    fi
}

do_install() {
    # The unstripped binary: Yocto strips it and fills ${PN}-dbg itself.
    install -D -m 0755 ${S}/out/${CAMERA_AGENT_TARGET}/camera-agent.debug ${D}${bindir}/camera-agent
    install -D -m 0644 "$(camera_agent_pick agent.conf agent.conf.example)" \
        ${D}${sysconfdir}/camera-agent/agent.conf
    if [ -e "${S}/board/${CAMERA_AGENT_BOARD}/camera-agent.default" ]; then
        install -D -m 0644 ${S}/board/${CAMERA_AGENT_BOARD}/camera-agent.default \
            ${D}${sysconfdir}/default/camera-agent
    fi
    install -d -m 0700 ${D}${localstatedir}/lib/camera-agent
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -D -m 0755 "$(camera_agent_pick S90camera-agent common/S90camera-agent)" \
            ${D}${sysconfdir}/init.d/camera-agent
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -D -m 0644 "$(camera_agent_pick camera-agent.service common/camera-agent.service)" \
            ${D}${systemd_system_unitdir}/camera-agent.service
    fi
}

INITSCRIPT_NAME = "camera-agent"
INITSCRIPT_PARAMS = "defaults 90 10"
SYSTEMD_SERVICE:${PN} = "camera-agent.service"
SYSTEMD_AUTO_ENABLE = "enable"

CONFFILES:${PN} = "${sysconfdir}/camera-agent/agent.conf"
FILES:${PN} += "${localstatedir}/lib/camera-agent"
# Not needed: INSANE_SKIP "ldflags". The binary is linked by the Swift
# toolchain's ld.lld with cross/build.sh's options, not Yocto's LDFLAGS, but it
# has the .gnu.hash section that QA check looks for (checked on out/aarch64).
