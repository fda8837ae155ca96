/* Helpers shared by the spice-lz decoder and encoder (not part of the cffi interface). */
#ifndef SPICE_LZ_INTERNAL_H
#define SPICE_LZ_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lz.h"
#include "spice_codec.h"

#define LZ_MAGIC 0x20205A4Cu
#define LZ_VERSION 0x00010001u
/* Reference size cap: stride * height must stay below 1 GiB. */
#define LZ_MAX_BYTES ((uint64_t)1024 * 1024 * 1024 - 1)
/* Control byte: below 32 starts a literal run of (byte + 1) pixels. */
#define LZ_LITERAL_MAX 32
/* A match whose biased distance is below this uses the 13-bit form. */
#define LZ_NEAR_LIMIT 8191u
/* Matches at this pixel distance or more are not searched by the encoder. */
#define LZ_FAR_LIMIT (65535u + 8191u - 1u)

SC_INLINE int lz_is_plt(uint32_t type) { return type >= SPICE_LZ_PLT1_LE && type <= SPICE_LZ_PLT8; }

/* Pixels per source byte of a palette type. */
SC_INLINE uint32_t lz_plt_ppb(uint32_t type)
{
    return type <= SPICE_LZ_PLT1_BE ? 8u : type <= SPICE_LZ_PLT4_BE ? 2u : 1u;
}

/* Bytes per pixel of the source rows of an RGB/alpha type. */
SC_INLINE uint32_t lz_rgb_bpp(uint32_t type)
{
    switch (type) {
    case SPICE_LZ_RGB16: return 2;
    case SPICE_LZ_RGB24: return 3;
    case SPICE_LZ_RGB32:
    case SPICE_LZ_RGBA:
    case SPICE_LZ_XXXA: return 4;
    default: return 1;
    }
}

/* Header stride (bytes per source row) implied by type and width. */
SC_INLINE uint64_t lz_row_stride(uint32_t type, uint32_t width)
{
    if (lz_is_plt(type)) {
        uint32_t ppb = lz_plt_ppb(type);
        return ((uint64_t)width + ppb - 1) / ppb;
    }
    return (uint64_t)width * lz_rgb_bpp(type);
}

#endif
