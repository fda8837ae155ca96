/* Public C interface of the spice-glz core, as seen by cffi. */
#ifndef SPICE_GLZ_CORE_H
#define SPICE_GLZ_CORE_H
#include <stdint.h>
int spice_glz_core_abi(void);
#endif
