#include "glz.h"
int spice_glz_core_abi(void) { return 1; }
