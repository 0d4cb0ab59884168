// The service manager's interfaces, without libsystemd: the sd_notify(3)
// datagram protocol and the JOURNAL_STREAM check of systemd.exec(5).
#ifndef CAGENT_SHIM_SERVICE_H
#define CAGENT_SHIM_SERVICE_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/// Sends one datagram to the AF_UNIX socket `path` (NOTIFY_SOCKET): a path,
/// or "@name" for the abstract namespace. 0, or -1 with errno.
static inline int ca_notify_send(const char *path, const void *bytes, size_t count) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n < 2 || n >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) {
    errno = EINVAL;
    return -1;
  }
  memcpy(addr.sun_path, path, n);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ssize_t sent = sendto(fd, bytes, count, MSG_NOSIGNAL, (struct sockaddr *)&addr, length);
  int saved = errno;
  close(fd);
  errno = saved;
  return sent == (ssize_t)count ? 0 : -1;
}

/// 1 when stderr is the journal stream systemd connected (JOURNAL_STREAM is
/// "DEV:INODE" of that stream and fd 2 is still it), else 0.
static inline int ca_stderr_is_journal(void) {
  const char *value = getenv("JOURNAL_STREAM");
  if (value == NULL) return 0;
  unsigned long long dev = 0, ino = 0;
  char extra = 0;
  if (sscanf(value, "%llu:%llu%c", &dev, &ino, &extra) != 2) return 0;
  struct stat info;
  if (fstat(2, &info) != 0) return 0;
  return (unsigned long long)info.st_dev == dev && (unsigned long long)info.st_ino == ino ? 1 : 0;
}

#endif
