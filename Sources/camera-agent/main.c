// The process entry point. It is C because Embedded Swift has no
// `CommandLine` and SwiftPM renames a Swift `main` on some targets but not
// others; the agent itself starts in AgentCore's `camera_agent_run`
// (AgentCLI.swift), which takes argv as C hands it over.
// Any libc header defines __GLIBC__ (through <features.h>) on glibc.
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int camera_agent_run(int argc, char **argv);

int main(int argc, char **argv) {
#ifdef __GLIBC__
  // Tokens and keys pass through buffers this process does not own: libcurl's
  // receive and send buffers, OpenSSL's TLS records, the Swift runtime's
  // strings and arrays. With M_PERTURB glibc overwrites every chunk it takes
  // back into its bins (and fills every chunk it hands out), so a freed copy
  // of a rotated-away refresh token does not linger in the heap for a core
  // dump or a memory read to find (issue 13 item 9, Tests/blackbox/memory.sh).
  // glibc's per-thread cache (chunks up to 1032 bytes, 7 per size) is not
  // perturbed: the agent's own small buffers that held a secret are zeroed
  // before they are released (SecretBytes, CurlTransport). Cost: one memset
  // per malloc and free, measured in memory.sh's figures.
  mallopt(M_PERTURB, 0xa5);
#endif
  return camera_agent_run(argc, argv);
}
