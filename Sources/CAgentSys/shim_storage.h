// Storage system calls for the slot stores (Storage/, Flash/): raw MTD flash
// through /dev/mtdN ioctls, and the durable-file dance (fsync, rename,
// directory fsync, stale temp cleanup). ioctl and open are variadic and the
// MTD request numbers are macros, so Swift reaches them only through here.
#ifndef CAGENT_SHIM_STORAGE_H
#define CAGENT_SHIM_STORAGE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mtd/mtd-user.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

// MARK: MTD (raw flash)

/// MTD_* device types and flags from <mtd/mtd-abi.h>, as functions so the
/// Swift side does not depend on which macros the importer manages to see.
static inline int ca_mtd_type_ram(void) { return MTD_RAM; }
static inline int ca_mtd_type_norflash(void) { return MTD_NORFLASH; }
static inline int ca_mtd_type_nandflash(void) { return MTD_NANDFLASH; }
static inline int ca_mtd_type_mlcnandflash(void) { return MTD_MLCNANDFLASH; }
static inline uint32_t ca_mtd_flag_writeable(void) { return MTD_WRITEABLE; }

/// ioctl(MEMGETINFO): the device's geometry. Returns 0 or -1 with errno set
/// (ENOTTY when `fd` is not an MTD character device).
static inline int ca_mtd_get_info(int fd, uint8_t *type, uint32_t *flags, uint32_t *size,
                                  uint32_t *erasesize, uint32_t *writesize) {
  struct mtd_info_user info;
  memset(&info, 0, sizeof info);
  if (ioctl(fd, MEMGETINFO, &info) != 0) return -1;
  *type = info.type;
  *flags = info.flags;
  *size = info.size;
  *erasesize = info.erasesize;
  *writesize = info.writesize;
  return 0;
}

/// ioctl(MEMERASE): sets [start, start+length) to 0xFF. Synchronous: the
/// kernel waits for the chip to finish before returning. 0 or -1 with errno.
static inline int ca_mtd_erase(int fd, uint32_t start, uint32_t length) {
  struct erase_info_user erase;
  erase.start = start;
  erase.length = length;
  return ioctl(fd, MEMERASE, &erase);
}

/// ioctl(MEMGETBADBLOCK): 1 if the erase block at `offset` is marked bad,
/// 0 if good, -1 with errno (EOPNOTSUPP on NOR, which has no bad blocks).
static inline int ca_mtd_is_bad_block(int fd, int64_t offset) {
  __kernel_loff_t where = (__kernel_loff_t)offset;
  int result = ioctl(fd, MEMGETBADBLOCK, &where);
  if (result < 0) return -1;
  return result > 0 ? 1 : 0;
}

// MARK: Whole transfers

// Offsets are 64-bit on every target: armv7 is built with
// -D_FILE_OFFSET_BITS=64, so a flash offset past 2 GiB can never wrap into
// the wrong erase block, and stat/readdir never fail with EOVERFLOW on a
// large inode number or directory offset.
_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64: off_t must be 64 bits");

static inline int ca_check_offset(int64_t offset) {
  if (offset < 0) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

/// pread until `count` bytes or end of file, retrying EINTR. Returns the
/// number of bytes read (short only at end of file) or -1 with errno.
static inline ssize_t ca_pread_full(int fd, void *buffer, size_t count, int64_t offset) {
  if (ca_check_offset(offset) != 0) return -1;
  size_t done = 0;
  while (done < count) {
    ssize_t n = pread(fd, (char *)buffer + done, count - done, (off_t)(offset + (int64_t)done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  return (ssize_t)done;
}

/// pwrite all `count` bytes, retrying EINTR and short writes. Returns `count`
/// or -1 with errno (a write that makes no progress reports EIO).
static inline ssize_t ca_pwrite_full(int fd, const void *buffer, size_t count, int64_t offset) {
  if (ca_check_offset(offset) != 0) return -1;
  size_t done = 0;
  while (done < count) {
    ssize_t n = pwrite(fd, (const char *)buffer + done, count - done,
                       (off_t)(offset + (int64_t)done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    done += (size_t)n;
  }
  return (ssize_t)count;
}

/// write all `count` bytes at the current position, as ca_pwrite_full.
static inline ssize_t ca_write_full(int fd, const void *buffer, size_t count) {
  size_t done = 0;
  while (done < count) {
    ssize_t n = write(fd, (const char *)buffer + done, count - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    done += (size_t)n;
  }
  return (ssize_t)count;
}

/// read until `count` bytes or end of file, retrying EINTR. Returns the number
/// of bytes read or -1 with errno.
static inline ssize_t ca_read_full(int fd, void *buffer, size_t count) {
  size_t done = 0;
  while (done < count) {
    ssize_t n = read(fd, (char *)buffer + done, count - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  return (ssize_t)done;
}

// MARK: Durable files

static inline int ca_flag_rdwr(void) { return O_RDWR; }

/// Reading a slot file never follows a symlink planted in its place.
static inline int ca_flag_rdonly_nofollow(void) { return O_RDONLY | O_NOFOLLOW; }

/// fsync, retrying EINTR (which some network file systems return).
static inline int ca_fsync(int fd) {
  int result;
  do {
    result = fsync(fd);
  } while (result != 0 && errno == EINTR);
  return result;
}

static inline int ca_fdatasync(int fd) {
  int result;
  do {
    result = fdatasync(fd);
  } while (result != 0 && errno == EINTR);
  return result;
}

/// Makes a rename, creation or unlink inside `path` durable: a renamed file's
/// data is safe after its own fsync, but the new name is only safe once the
/// directory holding it is fsync'd. 0 or -1 with the failing call's errno.
static inline int ca_fsync_directory(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int result = ca_fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  return result;
}

/// An exclusive flock(2) on the directory `path`, so that one process's
/// write (temporary file, then rename) is never mistaken by another process
/// for a crash's leftover. `wait` 0 does not block: -1 with errno
/// EWOULDBLOCK when another process holds the lock. The descriptor (close it
/// to unlock; a dead process's lock goes with it), or -1 with errno.
static inline int ca_lock_directory(const char *path, int wait) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int result;
  do {
    result = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

static inline int ca_would_block(int error) { return error == EWOULDBLOCK || error == EAGAIN; }

/// lstat reduced to what the stores check: `*kind` is 1 for a directory, 2 for
/// a regular file, 3 for anything else (symlink, device...); `*permissions`
/// is the mode's 07777 bits. 0 or -1 with errno (ENOENT when missing).
static inline int ca_lstat_kind(const char *path, int *kind, uint32_t *permissions) {
  struct stat st;
  if (lstat(path, &st) != 0) return -1;
  if (S_ISDIR(st.st_mode)) *kind = 1;
  else if (S_ISREG(st.st_mode)) *kind = 2;
  else *kind = 3;
  *permissions = (uint32_t)(st.st_mode & 07777);
  return 0;
}

// MARK: Descriptor-relative vault directory (no path re-resolution)

/// The vault directory is opened once, refusing a symlink in its place
/// (O_NOFOLLOW on the last component), and every later call works relative to
/// that descriptor: a process that can write the parent cannot swap in a
/// symlink between a check and an action (issue 13, item 4).
static inline int ca_open_directory_nofollow(const char *path) {
  return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/// A second open file description of an opened directory: flock(2) locks
/// belong to the description, so a per-write lock needs its own.
static inline int ca_reopen_directory(int dir) {
  return openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/// openat(2) relative to `dir`, never following a symlink at `name`, with
/// O_NONBLOCK so that a FIFO planted at a slot's name cannot hang the open.
/// `mode` 0 reads, 1 writes an existing file, 2 creates exclusively.
static inline int ca_openat_nofollow(int dir, const char *name, int mode, unsigned int permissions) {
  int flags = O_NOFOLLOW | O_CLOEXEC;
  switch (mode) {
    case 0: flags |= O_RDONLY | O_NONBLOCK; break;
    case 1: flags |= O_WRONLY | O_NONBLOCK; break;
    default: flags |= O_WRONLY | O_CREAT | O_EXCL; break;
  }
  return openat(dir, name, flags, (mode_t)permissions);
}

/// fstat reduced as ca_lstat_kind, plus the size, of an open descriptor:
/// what the descriptor is, not what a path names now.
static inline int ca_fstat_kind(int fd, int *kind, uint32_t *permissions, int64_t *size) {
  // A plain fstat: off_t is 64-bit on every target (armv7 builds with
  // _FILE_OFFSET_BITS=64), so no statx detour is needed for the size.
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  unsigned int mode = (unsigned int)st.st_mode;
  *size = (int64_t)st.st_size;
  if (S_ISDIR(mode)) *kind = 1;
  else if (S_ISREG(mode)) *kind = 2;
  else *kind = 3;
  *permissions = (uint32_t)(mode & 07777);
  return 0;
}

static inline int ca_renameat(int dir, const char *from, const char *to) {
  return renameat(dir, from, dir, to);
}

/// unlinkat(2); `directory` nonzero removes an (empty) directory.
static inline int ca_unlinkat(int dir, const char *name, int directory) {
  return unlinkat(dir, name, directory ? AT_REMOVEDIR : 0);
}

/// An exclusive flock(2) on `fd`, retrying EINTR. `wait` 0 does not block:
/// -1 with EWOULDBLOCK when another open file description holds it.
/// Releases a flock(2) held through `fd`'s open file description.
static inline int ca_flock_release(int fd) { return flock(fd, LOCK_UN); }

static inline int ca_flock_exclusive(int fd, int wait) {
  int result;
  do {
    result = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (result != 0 && errno == EINTR);
  return result;
}

/// The pid holding a flock(2) write lock on the file `fd` is open on, from
/// /proc/locks (as util-linux lslocks finds it), or 0 when it cannot be
/// told. The number is the kernel's, not a file the agent user can write,
/// but it is only a number: it names whoever took the lock, which may have
/// exited while a descendant keeps the lock, and a pid can be reused. A
/// refusal message may print it as it is; `camera-agent pair` signals it only
/// through a pidfd, after checking that process's credentials against the
/// vault's owner and that the same pid still holds the lock once the pidfd
/// is open (CLI/PairCommand.swift). Never signal it any other way.
static inline long ca_flock_holder(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  FILE *locks = fopen("/proc/locks", "re");
  if (locks == NULL) return 0;
  char line[256];
  long holder = 0;
  while (holder == 0 && fgets(line, sizeof line, locks) != NULL) {
    char type[16], kind[16], access[16];
    long pid;
    unsigned int dev_major, dev_minor;
    unsigned long long inode;
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:131 0 EOF"; blocked waiters
    // have "->" after the number and are skipped by the type check.
    if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", type, kind, access, &pid, &dev_major, &dev_minor,
               &inode) != 7)
      continue;
    if (strcmp(type, "FLOCK") != 0 || strcmp(access, "WRITE") != 0) continue;
    if (inode == (unsigned long long)st.st_ino && dev_major == major(st.st_dev) &&
        dev_minor == minor(st.st_dev))
      holder = pid;
  }
  fclose(locks);
  return holder;
}

// MARK: Directory listing

/// Opens a directory for listing; NULL with errno on failure. The handle is
/// opaque to Swift; release it with ca_dir_close.
static inline void *ca_dir_open(const char *path) { return opendir(path); }

/// Lists the directory `dir` is open on, through a description of its own
/// (so the listing starts at the beginning and `dir` stays usable).
static inline void *ca_dir_open_at(int dir) {
  int fd = ca_reopen_directory(dir);
  if (fd < 0) return NULL;
  DIR *listing = fdopendir(fd);
  if (listing == NULL) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
  return listing;
}

/// Copies the next entry's name (never "." or "..") into `name` (NUL-
/// terminated). Returns its length, 0 at the end, -1 with errno on a read
/// error, or -2 when the name does not fit in `capacity`.
static inline long ca_dir_next_name(void *handle, char *name, size_t capacity) {
  for (;;) {
    errno = 0;
    struct dirent *entry = readdir((DIR *)handle);
    if (entry == NULL) return errno == 0 ? 0 : -1;
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    size_t length = strlen(entry->d_name);
    if (length + 1 > capacity) return -2;
    memcpy(name, entry->d_name, length + 1);
    return (long)length;
  }
}

static inline void ca_dir_close(void *handle) { closedir((DIR *)handle); }

#endif
