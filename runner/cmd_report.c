#include "runner/cli.h"
int cmd_report(int argc, char **argv) { return 2; }
