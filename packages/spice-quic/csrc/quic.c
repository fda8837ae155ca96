#include "quic.h"
int spice_quic_core_abi(void) { return 1; }
