SUMMARY = "camera-agent: cloud credentials and status reports for Linux ARM cameras"
DESCRIPTION = "Keeps the camera's device credentials in an encrypted vault, \
               activates with the cloud (OAuth 2.0 device grant, private_key_jwt, DPoP) and \
               reports the firmware version. One binary, built in Embedded Swift by the \
               project's cross/build.sh against this recipe's sysroot."
AUTHOR = "The camera-agent authors"
# The project has no public address yet: set both where it is published.
# (oelint-adv's reachability check needs a network CI does not have.)
# nooelint: oelint.vars.homepageping
HOMEPAGE = "https://git.invalid/camera-agent"
BUGTRACKER = "https://git.invalid/camera-agent/issues"
SECTION = "net"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"
CVE_PRODUCT = "camera-agent"

# libcurl must use OpenSSL as its TLS backend (curl's PACKAGECONFIG "openssl",
# poky's default) and libcrypto must be OpenSSL 3.
DEPENDS = "curl openssl"

# The project's git repository: set CAMERA_AGENT_GIT_URL (and SRCREV) in the
# distro or local.conf. To build a checkout instead (a developer's tree, the
# layer inside the project), use externalsrc from local.conf:
#   INHERIT += "externalsrc"
#   EXTERNALSRC:pn-camera-agent = "/path/to/camera-agent"
#   EXTERNALSRC_BUILD:pn-camera-agent = "/path/to/camera-agent"
# A release pins CAMERA_AGENT_SRCREV; the default follows the branch head.
CAMERA_AGENT_GIT_URL ??= "git://git.invalid/camera-agent.git;protocol=https"
CAMERA_AGENT_SRCREV ??= "${AUTOREV}"
SRC_URI = "${CAMERA_AGENT_GIT_URL};branch=main"
SRCREV = "${CAMERA_AGENT_SRCREV}"
S = "${WORKDIR}/git"

# The TPM code in or out (cross/build.sh SECURE_ELEMENT_<target>): the
# anti-rollback counter (anti_rollback = tpm:...) and the identity key made
# inside the TPM (identity_key = tpm2). On for machines with the "tpm2"
# MACHINE_FEATURE (meta-security's convention); the board then needs OpenSSL
# 3's tpm2 provider and the TSS device TCTI at run time (nothing is linked
# against them; tpm2-openssl is in meta-security's meta-tpm). Off: that
# code is left out and an agent.conf naming a TPM is refused with exit 78.
PACKAGECONFIG ??= "${@bb.utils.filter('MACHINE_FEATURES', 'tpm2', d)}"
PACKAGECONFIG[tpm2] = ",,,tpm2-openssl libtss2-tcti-device"
CAMERA_AGENT_SECURE_ELEMENT = "${@bb.utils.contains('PACKAGECONFIG', 'tpm2', 'tpm2', 'none', d)}"

inherit update-rc.d systemd useradd

COMPATIBLE_HOST = "(aarch64|arm).*-linux.*"
# cross/build.sh's target for this machine, and which board/<board>/ folder
# provides agent.conf, the init script and the unit (falling back to
# board/agent.conf.example and board/common/).
CAMERA_AGENT_TARGET = "${@ {'aarch64': 'aarch64', 'arm': 'armv7'}.get(d.getVar('TARGET_ARCH'), '')}"
CAMERA_AGENT_BOARD ?= "${@ 'armv7-cortex-a7-camera' if d.getVar('TARGET_ARCH') == 'arm' else 'qemu-virt-aarch64'}"
CAMERA_AGENT_ARMV7_CPU ?= "cortex-a7"
# Bin folder of a Swift 6.3 toolchain on the build host (swiftc, swift,
# ld.lld); empty: swiftc on PATH. With meta-swift in BBLAYERS, the bbappend in
# dynamic-layers/swift-layer/ sets it to meta-swift's swift-native instead.
SWIFT_TOOLCHAIN_BIN ?= ""

# The toolchain's flags that matter to the C the Swift build compiles and
# imports: the -D defines of TARGET_CFLAGS (_FILE_OFFSET_BITS, _TIME_BITS on
# 32-bit arm, _FORTIFY_SOURCE from security_flags) and stack protection, to
# every C and Swift compile with -Xcc; 64-bit files and times always (poky's
# 32bit-time QA check); RELRO, BIND_NOW and GNU hash to the linker.
CAMERA_AGENT_XCC_OPTIONS = "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 \
                            ${@' '.join(f for f in d.getVar('TARGET_CFLAGS').split() if f.startswith('-D') or f.startswith('-fstack-protector') or f == '-fstack-clash-protection')}"
CAMERA_AGENT_XLINKER_OPTIONS = "-z relro -z now -z noexecstack --hash-style=gnu"

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group camera-agent"
# The pairing UI's group: the only readers of the state file (board.conf STATE_GROUP).
GROUPADD_PARAM:${PN} = "--system camera-pairing"

do_configure[noexec] = "1"

do_compile[doc] = "Build camera-agent in Embedded Swift with cross/build.sh against RECIPE_SYSROOT"
do_compile() {
    # CC/CFLAGS name Yocto's gcc and its options; the Swift toolchain's clang
    # gets the flags that apply to it through SWIFT_BUILD_FLAGS (above).
    unset CC CXX CPP LD
    if [ -n "${SWIFT_TOOLCHAIN_BIN}" ]; then
        export PATH="${SWIFT_TOOLCHAIN_BIN}:$PATH"
    fi
    SWIFT_BUILD_FLAGS=""
    for flag in ${CAMERA_AGENT_XCC_OPTIONS}; do
        SWIFT_BUILD_FLAGS="$SWIFT_BUILD_FLAGS -Xcc $flag"
    done
    for flag in ${CAMERA_AGENT_XLINKER_OPTIONS}; do
        SWIFT_BUILD_FLAGS="$SWIFT_BUILD_FLAGS -Xlinker $flag"
    done
    export SWIFT_BUILD_FLAGS
    cd ${S}
    case "${CAMERA_AGENT_TARGET}" in
    aarch64)
        SYSROOT_AARCH64="${RECIPE_SYSROOT}" TRIPLE_AARCH64="${TARGET_SYS}" \
            SECURE_ELEMENT_AARCH64="${CAMERA_AGENT_SECURE_ELEMENT}" ./cross/build.sh aarch64 ;;
    armv7)
        SYSROOT_ARMV7="${RECIPE_SYSROOT}" TRIPLE_ARMV7="${TARGET_SYS}" \
            CPU_ARMV7="${CAMERA_AGENT_ARMV7_CPU}" SECURE_ELEMENT_ARMV7="${CAMERA_AGENT_SECURE_ELEMENT}" \
            ./cross/build.sh armv7 ;;
    *)
        bbfatal "camera-agent builds for aarch64 and armv7 hard-float only" ;;
    esac
}

camera_agent_pick[doc] = "Prints board/<board>/$1 when it exists, else board/$2"
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
    install -d -m 0700 -o camera-agent -g camera-agent ${D}${localstatedir}/lib/camera-agent
    install -D -m 0644 ${S}/board/common/camera-agent.8 ${D}${mandir}/man8/camera-agent.8
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -D -m 0755 "$(camera_agent_pick S90camera-agent common/S90camera-agent)" \
            ${D}${sysconfdir}/init.d/camera-agent
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -D -m 0644 "$(camera_agent_pick camera-agent.service common/camera-agent.service)" \
            ${D}${systemd_system_unitdir}/camera-agent.service
        install -D -m 0644 ${S}/board/common/camera-agent.tmpfiles.conf \
            ${D}${nonarch_libdir}/tmpfiles.d/camera-agent.conf
    fi
}

INITSCRIPT_NAME = "camera-agent"
INITSCRIPT_PARAMS = "defaults 90 10"
SYSTEMD_SERVICE:${PN} = "camera-agent.service"
SYSTEMD_AUTO_ENABLE = "enable"

CONFFILES:${PN} = "${sysconfdir}/camera-agent/agent.conf"
FILES:${PN} += "${localstatedir}/lib/camera-agent ${nonarch_libdir}/tmpfiles.d"

# A camera agent for the target only: no native or nativesdk variant.
BBCLASSEXTEND = ""
