################################################################################
#
# The Buildroot package's own install, run outside Buildroot for the emulated
# board's image (board/qemu/build-image.sh):
#
#   make -f board/qemu/buildroot-install.mk REPO=DIR BOARD=NAME ARCH=aarch64|armv7 \
#        TARGET_DIR=DIR PKG_DIR=DIR WORK=DIR [CAMERA_AGENT_CONF=FILE]
#
# It defines the few Buildroot variables and macros that
# board/buildroot/package/camera-agent/camera-agent.mk uses, includes that
# file unchanged, and runs what Buildroot runs for the package on a BusyBox
# init target: CAMERA_AGENT_INSTALL_TARGET_CMDS and
# CAMERA_AGENT_INSTALL_INIT_SYSV with $(@D) the package's build folder
# (PKG_DIR: out/ARCH/camera-agent and board/ of the project), then, as
# Buildroot's fs/common.mk does when it makes a root filesystem image:
# every file owned by 0:0, the users of CAMERA_AGENT_USERS created by
# Buildroot's own support/scripts/mkusers, the modes and owners of
# CAMERA_AGENT_PERMISSIONS applied by Buildroot's own makedevs (both vendored
# unmodified in board/qemu/buildroot-support/). Run as root, or under
# fakeroot as Buildroot does: the owners must reach the image's cpio.
#
# CAMERA_AGENT_CONF given on the command line is the emulated board's
# agent.conf (its cloud is the test's); it takes the place of the board
# folder's, as a board's own agent.conf would.
#
################################################################################

ifeq ($(REPO),)
$(error usage: make -f board/qemu/buildroot-install.mk REPO=DIR BOARD=NAME ARCH=aarch64|armv7 TARGET_DIR=DIR PKG_DIR=DIR WORK=DIR)
endif
ifeq ($(filter aarch64 armv7,$(ARCH)),)
$(error ARCH must be aarch64 or armv7)
endif
ifeq ($(BOARD)$(TARGET_DIR)$(PKG_DIR)$(WORK),)
$(error BOARD, TARGET_DIR, PKG_DIR and WORK are required)
endif

# --- what Buildroot provides (package/Makefile.in, package/pkg-utils.mk) -----
INSTALL := $(shell which install)
qstrip = $(strip $(subst ",,$(1)))
generic-package =
BR2_EXTERNAL_CAMERA_AGENT_PATH = $(REPO)/board/buildroot
BR2_PACKAGE_CAMERA_AGENT = y
BR2_PACKAGE_CAMERA_AGENT_BOARD = "$(BOARD)"
BR2_PACKAGE_CAMERA_AGENT_SWIFT_BIN = ""
BR2_PACKAGE_LIBCURL_OPENSSL = y
BR2_INIT_BUSYBOX = y
ifeq ($(ARCH),aarch64)
BR2_aarch64 = y
else
BR2_arm = y
BR2_GCC_TARGET_CPU = "cortex-a7"
endif
# The build is not run here (the binary is built by cross/build.sh already):
# nothing of the toolchain is used.
STAGING_DIR = /nonexistent-staging
TARGET_CC = false

include $(REPO)/board/buildroot/package/camera-agent/camera-agent.mk

# --- what fs/common.mk does with the tables ----------------------------------
MKUSERS = $(REPO)/board/qemu/buildroot-support/mkusers
MAKEDEVS = $(WORK)/makedevs
USERS_TABLE = $(WORK)/full_users_table.txt
DEVICES_TABLE = $(WORK)/full_devices_table.txt
# mkusers reads the password method from the configuration (used only for
# "=" passwords; the package's users have none).
BR2_CONFIG_FILE = $(WORK)/br2.config

.PHONY: all
all: $(PKG_DIR)/.stamp_target_installed

# The host's C compiler: cc where one is installed, else the Swift
# toolchain's clang (a fresh Debian machine with Swift may have no gcc).
HOSTCC ?= $(firstword $(shell command -v cc clang))

$(MAKEDEVS): $(REPO)/board/qemu/buildroot-support/makedevs.c
	$(if $(HOSTCC),,$(error buildroot-install.mk: no C compiler (cc or clang) on PATH))
	$(HOSTCC) -O2 $< -o $@

# $(@D) in the package's commands is the package's build folder, as in
# Buildroot, where the stamp file is in that folder.
$(PKG_DIR)/.stamp_target_installed: $(MAKEDEVS)
	$(CAMERA_AGENT_INSTALL_TARGET_CMDS)
	$(CAMERA_AGENT_INSTALL_INIT_SYSV)
	$(file >$(USERS_TABLE),$(CAMERA_AGENT_USERS))
	$(file >$(DEVICES_TABLE),$(CAMERA_AGENT_PERMISSIONS))
	$(file >$(BR2_CONFIG_FILE),BR2_TARGET_GENERIC_PASSWD_METHOD="sha-256")
	chown -h -R 0:0 $(TARGET_DIR)
	BR2_CONFIG=$(BR2_CONFIG_FILE) $(MKUSERS) $(USERS_TABLE) $(TARGET_DIR) >$(WORK)/mkusers-homes.sh
	sh -e $(WORK)/mkusers-homes.sh
	$(MAKEDEVS) -d $(DEVICES_TABLE) $(TARGET_DIR)
	touch $@
