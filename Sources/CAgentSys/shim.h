// The one door from Swift to C. Everything the agent calls in libc, libcurl
// and OpenSSL 3 that is variadic, a macro, or needs pointer juggling has a
// typed `static inline` wrapper here, so the same Swift compiles hosted and
// in Embedded mode (which cannot call variadic C functions or see macros).
#ifndef CAGENT_SHIM_H
#define CAGENT_SHIM_H

#include "shim_libc.h"
#include "shim_crypto.h"
#include "shim_provider.h"
#include "shim_curl.h"
#include "shim_tls.h"
#include "shim_storage.h"
#include "shim_daemon.h"
#include "shim_log.h"
#include "shim_service.h"
#include "shim_owner.h"
#include "shim_signal.h"
#include "shim_tpm.h"

#endif
