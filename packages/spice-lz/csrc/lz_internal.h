/* Helpers shared by the spice-lz decoder and encoder (not part of the cffi interface). */
#ifndef SPICE_LZ_INTERNAL_H
#define SPICE_LZ_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lz.h"

#if defined(__GNUC__) || defined(__clang__)
#define LZ_INLINE static inline __attribute__((always_inline))
#define LZ_LIKELY(x) __builtin_expect(!!(x), 1)
#define LZ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LZ_INLINE static inline
#define LZ_LIKELY(x) (x)
#define LZ_UNLIKELY(x) (x)
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LZ_BIG_ENDIAN 1
#else
#define LZ_BIG_ENDIAN 0
#endif

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

LZ_INLINE uint16_t lz_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
LZ_INLINE uint32_t lz_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
LZ_INLINE uint64_t lz_ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
LZ_INLINE void lz_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
LZ_INLINE void lz_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
LZ_INLINE void lz_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

LZ_INLINE uint32_t lz_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

LZ_INLINE void lz_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Little-endian u16 / u32 access independent of the host byte order. */
LZ_INLINE uint16_t lz_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
LZ_INLINE uint32_t lz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
LZ_INLINE void lz_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

LZ_INLINE int lz_is_plt(uint32_t type) { return type >= SPICE_LZ_PLT1_LE && type <= SPICE_LZ_PLT8; }

/* Pixels per source byte of a palette type. */
LZ_INLINE uint32_t lz_plt_ppb(uint32_t type)
{
    return type <= SPICE_LZ_PLT1_BE ? 8u : type <= SPICE_LZ_PLT4_BE ? 2u : 1u;
}

/* Bytes per pixel of the source rows of an RGB/alpha type. */
LZ_INLINE uint32_t lz_rgb_bpp(uint32_t type)
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
LZ_INLINE uint64_t lz_row_stride(uint32_t type, uint32_t width)
{
    if (lz_is_plt(type)) {
        uint32_t ppb = lz_plt_ppb(type);
        return ((uint64_t)width + ppb - 1) / ppb;
    }
    return (uint64_t)width * lz_rgb_bpp(type);
}

#endif
