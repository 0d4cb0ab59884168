// tpm-relay: the emulated aarch64 board's TPM bus.
//
// QEMU's `tpm-tis-device` needs the kernel's TIS MMIO driver, and Debian's
// arm64 kernel is built without it (CONFIG_TCG_TIS is not set; only the SPI
// and I2C TIS drivers, for which QEMU 7.2 has no arm64 device). So the board
// reaches its TPM (swtpm on the host, one per board, its state beside the
// data disk) the other way round: the kernel's vTPM proxy (tpm_vtpm_proxy)
// makes a real TPM 2.0 chip, /dev/tpm0 and its resource manager /dev/tpmrm0,
// whose commands this relay carries over a virtio-serial port to swtpm and
// back. Everything above the chip (the kernel's TPM core and resource
// manager, and the agent opening /dev/tpmrm0) is what a board with a TPM on
// SPI runs; only the wire differs. A real board's image has no relay.
//
// usage: tpm-relay PORT-NAME   (the virtio-serial port's name, e.g.
//        org.camera-agent.tpm). Creates the chip, prints "tpm-relay: tpm<N>"
//        and goes to the background once /dev/tpmrm<N> can exist; exits 1
//        with a message when the chip or the port can't be had.
//
// Every response comes from the host and is checked before the kernel sees
// it: a header, a length of 10..4096 that the bytes then fill; anything else
// (or no answer within 30 s) becomes a TPM_RC_FAILURE response, so a wedged
// or lying host can't hang the kernel's TPM core or overrun its buffer.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vtpm_proxy.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum { HEADER = 10, MAX_MESSAGE = 4096, ANSWER_MS = 30000 };

// TPM2_CC_SET_LOCALITY (vtpm_proxy.h) is the vTPM proxy's own vendor
// command, a locality change for the chip: swtpm in socket mode has no
// localities to switch, so the relay answers it with success itself.

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

// A bare response: tag TPM_ST_NO_SESSIONS, size 10, the code.
static size_t bare_response(unsigned char *out, uint32_t code) {
  out[0] = 0x80;
  out[1] = 0x01;
  put_be32(out + 2, HEADER);
  put_be32(out + 6, code);
  return HEADER;
}

// Reads exactly n bytes within the deadline; 0 on success.
static int read_full(int fd, unsigned char *buf, size_t n, int timeout_ms) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t k = read(fd, buf + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    got += (size_t)k;
  }
  return 0;
}

static int write_full(int fd, const unsigned char *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t k = write(fd, buf + put, n - put);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    put += (size_t)k;
  }
  return 0;
}

// /dev/vport<d>p<n> whose sysfs name is `name`, opened read-write.
static int open_port(const char *name) {
  DIR *dir = opendir("/sys/class/virtio-ports");
  if (dir == NULL) return -1;
  struct dirent *e;
  int fd = -1;
  while (fd < 0 && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[300], got[128] = {0};
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    if (fgets(got, sizeof got, f) != NULL) got[strcspn(got, "\n")] = 0;
    fclose(f);
    if (strcmp(got, name) != 0) continue;
    snprintf(path, sizeof path, "/dev/%s", e->d_name);
    fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  }
  closedir(dir);
  return fd;
}

// After a bad or late answer: whatever the host still sends for it is
// dropped, so it can't be read as the answer to the next command.
static size_t failed(int port, unsigned char *rsp) {
  unsigned char junk[512];
  struct pollfd p = {.fd = port, .events = POLLIN};
  while (poll(&p, 1, 200) > 0 && read(port, junk, sizeof junk) > 0) {
  }
  return bare_response(rsp, 0x101);  // TPM_RC_FAILURE
}

// One command from the kernel to the host and its answer back; the answer
// the kernel gets is always a well-formed response.
static size_t relay_one(int port, const unsigned char *cmd, size_t len, unsigned char *rsp) {
  if (len >= HEADER && be32(cmd + 6) == TPM2_CC_SET_LOCALITY) return bare_response(rsp, 0);
  if (write_full(port, cmd, len) != 0) return failed(port, rsp);
  if (read_full(port, rsp, HEADER, ANSWER_MS) != 0) return failed(port, rsp);
  uint32_t size = be32(rsp + 2);
  if (size < HEADER || size > MAX_MESSAGE) return failed(port, rsp);
  if (read_full(port, rsp + HEADER, size - HEADER, ANSWER_MS) != 0) return failed(port, rsp);
  return size;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tpm-relay PORT-NAME\n");
    return 64;
  }
  int port = open_port(argv[1]);
  if (port < 0) {
    fprintf(stderr, "tpm-relay: no virtio-serial port named %s\n", argv[1]);
    return 1;
  }
  int vtpmx = open("/dev/vtpmx", O_RDWR | O_CLOEXEC);
  if (vtpmx < 0) {
    fprintf(stderr, "tpm-relay: /dev/vtpmx: %s (is tpm_vtpm_proxy loaded?)\n", strerror(errno));
    return 1;
  }
  struct vtpm_proxy_new_dev dev = {.flags = VTPM_PROXY_FLAG_TPM2};
  if (ioctl(vtpmx, VTPM_PROXY_IOC_NEW_DEV, &dev) != 0) {
    fprintf(stderr, "tpm-relay: VTPM_PROXY_IOC_NEW_DEV: %s\n", strerror(errno));
    return 1;
  }
  close(vtpmx);
  printf("tpm-relay: tpm%u\n", dev.tpm_num);
  fflush(stdout);
  // The kernel registers the chip (and sends its first commands) from a
  // work queue after the ioctl: serve them from the background.
  if (daemon(0, 0) != 0) {
    fprintf(stderr, "tpm-relay: daemon: %s\n", strerror(errno));
    return 1;
  }
  static unsigned char cmd[MAX_MESSAGE], rsp[MAX_MESSAGE];
  for (;;) {
    ssize_t n = read((int)dev.fd, cmd, sizeof cmd);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? 0 : 1;  // the chip is gone
    size_t out = relay_one(port, cmd, (size_t)n, rsp);
    if (write_full((int)dev.fd, rsp, out) != 0) return 1;
  }
}
