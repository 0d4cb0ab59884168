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

// MARK: Directory listing

/// Opens a directory for listing; NULL with errno on failure. The handle is
/// opaque to Swift; release it with ca_dir_close.
static inline void *ca_dir_open(const char *path) { return opendir(path); }

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
