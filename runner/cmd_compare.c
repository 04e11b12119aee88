#include "runner/cli.h"
int cmd_compare(int argc, char **argv) { return 2; }
