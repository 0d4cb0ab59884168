// The TPM 2.0 resource manager's character device (/dev/tpmrm0): opened
// read-write, one whole command per write(2), one whole response per read(2).
// open is variadic and O_RDWR a macro, so Swift reaches it through here.
#ifndef CAGENT_SHIM_TPM_H
#define CAGENT_SHIM_TPM_H

#include <fcntl.h>

/// open(path, O_RDWR | O_CLOEXEC | O_NOCTTY): the fd is not inherited by
/// any child. Returns the fd or -1 with errno set.
static inline int ca_tpm_open(const char *path) { return open(path, O_RDWR | O_CLOEXEC | O_NOCTTY); }

#endif
