################################################################################
#
# camera-agent
#
################################################################################

CAMERA_AGENT_VERSION = 0.1.0
# The external tree lives in the project (board/buildroot), so the source is
# the project itself.
CAMERA_AGENT_SITE = $(realpath $(BR2_EXTERNAL_CAMERA_AGENT_PATH)/../..)
CAMERA_AGENT_SITE_METHOD = local
# Build products and caches of a developer's checkout are not source.
CAMERA_AGENT_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude .build --exclude '.build-*' --exclude out --exclude .sysroots \
	--exclude .cache --exclude '.venv*'
CAMERA_AGENT_DEPENDENCIES = libcurl openssl
CAMERA_AGENT_LICENSE = Apache-2.0
CAMERA_AGENT_LICENSE_FILES = LICENSE

# The service user (the board's SERVICE_USER), and the pairing UI's group
# (STATE_GROUP), the only readers of the state file: a group only.
define CAMERA_AGENT_USERS
	camera-agent -1 camera-agent -1 * - - - camera-agent daemon
	- -1 camera-pairing -1 * - - - camera-agent state file readers (pairing UI)
endef

# The file backend's default vault folder belongs to the service user.
define CAMERA_AGENT_PERMISSIONS
	/var/lib/camera-agent d 700 camera-agent camera-agent - - - - -
endef

CAMERA_AGENT_BOARD = $(call qstrip,$(BR2_PACKAGE_CAMERA_AGENT_BOARD))
CAMERA_AGENT_BOARD_DIR = $(CAMERA_AGENT_SITE)/board/$(CAMERA_AGENT_BOARD)
CAMERA_AGENT_SWIFT_BIN = $(call qstrip,$(BR2_PACKAGE_CAMERA_AGENT_SWIFT_BIN))

# First of the files that exist: the board's own, then the shared one.
camera-agent-pick = $(firstword $(wildcard $(CAMERA_AGENT_BOARD_DIR)/$(1) $(CAMERA_AGENT_SITE)/board/$(2)))
CAMERA_AGENT_CONF = $(call camera-agent-pick,agent.conf,agent.conf.example)
CAMERA_AGENT_INIT_SCRIPT = $(call camera-agent-pick,S90camera-agent,common/S90camera-agent)
CAMERA_AGENT_SYSTEMD_UNIT = $(call camera-agent-pick,camera-agent.service,common/camera-agent.service)
CAMERA_AGENT_DEFAULTS = $(wildcard $(CAMERA_AGENT_BOARD_DIR)/camera-agent.default)

# cross/build.sh takes the sysroot, the GNU triple (clang's link target),
# the folder with crtbegin.o/libgcc.a (in Buildroot's toolchain, not in the
# staging directory) and the program interpreter from the environment.
CAMERA_AGENT_GCC_LIB = $(dir $(shell $(TARGET_CC) -print-file-name=crtbegin.o 2>/dev/null))
ifeq ($(BR2_aarch64),y)
CAMERA_AGENT_TARGET = aarch64
CAMERA_AGENT_BUILD_ENV = \
	SYSROOT_AARCH64=$(STAGING_DIR) \
	TRIPLE_AARCH64=$(GNU_TARGET_NAME) \
	GCC_LIB_AARCH64=$(CAMERA_AGENT_GCC_LIB) \
	DYNAMIC_LINKER_AARCH64=/lib/ld-linux-aarch64.so.1
else
CAMERA_AGENT_TARGET = armv7
CAMERA_AGENT_BUILD_ENV = \
	SYSROOT_ARMV7=$(STAGING_DIR) \
	TRIPLE_ARMV7=$(GNU_TARGET_NAME) \
	GCC_LIB_ARMV7=$(CAMERA_AGENT_GCC_LIB) \
	DYNAMIC_LINKER_ARMV7=/lib/ld-linux-armhf.so.3 \
	CPU_ARMV7=$(call qstrip,$(BR2_GCC_TARGET_CPU))
endif
# The TPM code in or out (cross/build.sh SECURE_ELEMENT_<target>); with it,
# the board needs the tpm2 provider at run time.
ifeq ($(BR2_PACKAGE_CAMERA_AGENT_SECURE_ELEMENT),y)
CAMERA_AGENT_SECURE_ELEMENT = tpm2
CAMERA_AGENT_DEPENDENCIES += tpm2-openssl
else
CAMERA_AGENT_SECURE_ELEMENT = none
endif
ifeq ($(BR2_aarch64),y)
CAMERA_AGENT_BUILD_ENV += SECURE_ELEMENT_AARCH64=$(CAMERA_AGENT_SECURE_ELEMENT)
else
CAMERA_AGENT_BUILD_ENV += SECURE_ELEMENT_ARMV7=$(CAMERA_AGENT_SECURE_ELEMENT)
endif
ifneq ($(CAMERA_AGENT_SWIFT_BIN),)
CAMERA_AGENT_BUILD_ENV += PATH=$(CAMERA_AGENT_SWIFT_BIN):$(BR_PATH)
endif

# The toolchain's flags that matter to the C the Swift build compiles and
# imports (the shims and the glibc headers): its -D defines (_FILE_OFFSET_BITS,
# _TIME_BITS, _FORTIFY_SOURCE, ...) and stack protection, passed with -Xcc
# to every C and Swift compile through cross/build.sh's SWIFT_BUILD_FLAGS.
# 64-bit files and times are required whatever the toolchain says: the agent
# keeps times past 2038 on armv7. RELRO/BIND_NOW reach the linker the same way.
CAMERA_AGENT_CFLAGS = \
	$(sort -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 $(filter -D%,$(TARGET_CFLAGS))) \
	$(filter -fstack-protector% -fstack-clash-protection,$(TARGET_CFLAGS))
CAMERA_AGENT_LDFLAGS = -z noexecstack
ifeq ($(BR2_RELRO_PARTIAL),y)
CAMERA_AGENT_LDFLAGS += -z relro
else ifeq ($(BR2_RELRO_FULL),y)
CAMERA_AGENT_LDFLAGS += -z relro -z now
endif
CAMERA_AGENT_BUILD_ENV += \
	SWIFT_BUILD_FLAGS="$(foreach f,$(CAMERA_AGENT_CFLAGS),-Xcc $(f)) $(foreach f,$(CAMERA_AGENT_LDFLAGS),-Xlinker $(f))"

define CAMERA_AGENT_CHECK_TLS_BACKEND
	$(if $(BR2_PACKAGE_LIBCURL_OPENSSL),,\
		$(error camera-agent needs libcurl built with OpenSSL: set BR2_PACKAGE_LIBCURL_OPENSSL))
endef
CAMERA_AGENT_PRE_BUILD_HOOKS += CAMERA_AGENT_CHECK_TLS_BACKEND

define CAMERA_AGENT_BUILD_CMDS
	cd $(@D) && $(CAMERA_AGENT_BUILD_ENV) ./cross/build.sh $(CAMERA_AGENT_TARGET)
endef

define CAMERA_AGENT_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/out/$(CAMERA_AGENT_TARGET)/camera-agent \
		$(TARGET_DIR)/usr/bin/camera-agent
	$(INSTALL) -D -m 0644 $(CAMERA_AGENT_CONF) $(TARGET_DIR)/etc/camera-agent/agent.conf
	$(if $(CAMERA_AGENT_DEFAULTS),$(INSTALL) -D -m 0644 $(CAMERA_AGENT_DEFAULTS) \
		$(TARGET_DIR)/etc/default/camera-agent)
	$(INSTALL) -d -m 0700 $(TARGET_DIR)/var/lib/camera-agent
	$(INSTALL) -D -m 0644 $(@D)/board/common/camera-agent.8 \
		$(TARGET_DIR)/usr/share/man/man8/camera-agent.8
endef

define CAMERA_AGENT_INSTALL_INIT_SYSV
	$(if $(CAMERA_AGENT_INIT_SCRIPT),,$(error camera-agent: no S90camera-agent in board/$(CAMERA_AGENT_BOARD)/ or board/common/))
	$(INSTALL) -D -m 0755 $(CAMERA_AGENT_INIT_SCRIPT) $(TARGET_DIR)/etc/init.d/S90camera-agent
endef

define CAMERA_AGENT_INSTALL_INIT_SYSTEMD
	$(if $(CAMERA_AGENT_SYSTEMD_UNIT),,$(error camera-agent: no camera-agent.service in board/$(CAMERA_AGENT_BOARD)/ or board/common/))
	$(INSTALL) -D -m 0644 $(CAMERA_AGENT_SYSTEMD_UNIT) \
		$(TARGET_DIR)/usr/lib/systemd/system/camera-agent.service
	$(INSTALL) -D -m 0644 $(@D)/board/common/camera-agent.tmpfiles.conf \
		$(TARGET_DIR)/usr/lib/tmpfiles.d/camera-agent.conf
endef

$(eval $(generic-package))
