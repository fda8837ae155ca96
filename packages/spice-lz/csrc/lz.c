#include "lz.h"
int spice_lz_core_abi(void) { return 1; }
