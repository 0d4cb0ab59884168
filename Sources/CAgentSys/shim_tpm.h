// The TPM 2.0 resource manager's character device (/dev/tpmrm0): opened
// read-write, one whole command per write(2), one whole response per read(2).
// open is variadic and O_RDWR a macro, so Swift reaches it through here.
//
// A software TPM (swtpm, the TSS's "swtpm:" TCTI) takes the same raw
// commands on a TCP stream; the agent reaches one on loopback only, for
// development boards and the hosted tests.
#ifndef CAGENT_SHIM_TPM_H
#define CAGENT_SHIM_TPM_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

/// open(path, O_RDWR | O_CLOEXEC | O_NOCTTY): the fd is not inherited by
/// any child. Returns the fd or -1 with errno set.
static inline int ca_tpm_open(const char *path) { return open(path, O_RDWR | O_CLOEXEC | O_NOCTTY); }

/// A TCP connection to 127.0.0.1:port (close-on-exec). Returns the fd or -1
/// with errno set.
static inline int ca_tpm_connect_loopback(unsigned short port) {
  struct sockaddr_in address;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (const struct sockaddr *)&address, sizeof address) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/// send(2) without SIGPIPE: a swtpm that went away is an error, not a signal.
static inline long ca_tpm_send(int fd, const void *buf, unsigned long len) {
  return (long)send(fd, buf, len, MSG_NOSIGNAL);
}

#endif
