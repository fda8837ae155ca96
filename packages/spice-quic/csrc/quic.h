/* Public C interface of the spice-quic core, as seen by cffi. */
#ifndef SPICE_QUIC_CORE_H
#define SPICE_QUIC_CORE_H
#include <stdint.h>
int spice_quic_core_abi(void);
#endif
