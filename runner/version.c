/* runner/version.c — the program's version as `git describe` gave it at build time
 * (build/version.h, rewritten by make only when it changes). */
#include "runner/provenance.h"
#include "version.h"

const char *clipgrid_version(void) { return CLIPGRID_GIT_DESCRIBE; }
