// Handing the vault to the service user after a root-run command (`provision`
// on the factory console), through descriptors only: no path-based chown that
// a symlink or a hard link planted by the agent user could redirect.
#ifndef CAGENT_SHIM_OWNER_H
#define CAGENT_SHIM_OWNER_H

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/// The uid and primary gid of user `name`: 0, or -1 (no such user).
static inline int ca_lookup_user(const char *name, uid_t *uid, gid_t *gid) {
  struct passwd *pw = getpwnam(name);
  if (pw == NULL) return -1;
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return 0;
}

static inline uid_t ca_geteuid(void) { return geteuid(); }

// ca_open_directory_nofollow (a directory opened without following a
// symlink at its last component) is shim_storage.h's.

/// Gives the directory open as `fd` to uid:gid (mode unchanged). 0 or -1.
static inline int ca_fchown_fd(int fd, uid_t uid, gid_t gid) { return fchown(fd, uid, gid); }

/// Gives `name` in directory `dirfd` to uid:gid, only if it is a regular file
/// (not a symlink: O_NOFOLLOW), with one link (not a planted hard link to
/// another file) and owned by root or already by uid. 1 changed, 0 absent,
/// -2 refused (not such a file), -1 error with errno.
static inline int ca_give_file(int dirfd, const char *name, uid_t uid, gid_t gid) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : (errno == ELOOP ? -2 : -1);
  struct stat info;
  int rc = -1;
  if (fstat(fd, &info) == 0) {
    if (!S_ISREG(info.st_mode) || info.st_nlink != 1 || (info.st_uid != 0 && info.st_uid != uid)) {
      rc = -2;
    } else {
      rc = fchown(fd, uid, gid) == 0 ? 1 : -1;
    }
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

#endif
