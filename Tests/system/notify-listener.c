// notify-listener SOCKET LOG: a stand-in for systemd's notify socket on the
// emulated board's test image (BusyBox init has no service manager). Binds
// an AF_UNIX datagram socket at SOCKET, lets the unprivileged agent send to
// it (mode 0622), and appends each datagram's KEY=value lines to LOG, one
// line each, bytes outside printable ASCII shown as '?' (the datagrams are
// the agent's, untrusted here too). Board-boot reads LOG over the console.
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: notify-listener SOCKET LOG\n");
    return 64;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) return 64;
  strcpy(addr.sun_path, argv[1]);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  unlink(argv[1]);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || chmod(argv[1], 0622) != 0) {
    perror("notify-listener: socket");
    return 1;
  }
  FILE *log = fopen(argv[2], "a");
  if (log == NULL) return 1;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) continue;
    for (ssize_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)buf[i];
      fputc(c == '\n' ? '\n' : (c < 0x20 || c > 0x7e ? '?' : c), log);
    }
    fputc('\n', log);
    fflush(log);
  }
}
