/* Public C interface of the spice-lz core, as seen by cffi. */
#ifndef SPICE_LZ_CORE_H
#define SPICE_LZ_CORE_H
#include <stdint.h>
int spice_lz_core_abi(void);
#endif
