/* Helpers shared by the decoder and the encoder (not part of the cffi API). */
#ifndef SPICE_GLZ_INTERNAL_H
#define SPICE_GLZ_INTERNAL_H
#include <stdint.h>
#include <string.h>

#include "glz.h"

#if defined(__GNUC__) || defined(__clang__)
#define GLZ_LIKELY(x) __builtin_expect(!!(x), 1)
#define GLZ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GLZ_INLINE static inline __attribute__((always_inline))
#define GLZ_NOINLINE __attribute__((noinline))
#else
#define GLZ_LIKELY(x) (x)
#define GLZ_UNLIKELY(x) (x)
#define GLZ_INLINE static inline
#define GLZ_NOINLINE
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GLZ_LE 1
#else
#define GLZ_LE 0
#endif

/* Stream constants (LZ family). */
#define GLZ_MAGIC 0x20205A4Cu
#define GLZ_VERSION 0x00010001u
#define GLZ_HEADER_SIZE 33
#define GLZ_MAX_COPY 32 /* a control byte below this starts a literal run of ctrl+1 */

/* LZ image types as numbered in the header. */
enum {
    T_PLT1_LE = 1,
    T_PLT1_BE,
    T_PLT4_LE,
    T_PLT4_BE,
    T_PLT8,
    T_RGB16,
    T_RGB24,
    T_RGB32,
    T_RGBA,
    T_XXXA,
    T_A8
};

/* Bytes each stored pixel takes in window memory (stream row order):
 * RGB16 as little-endian x1r5g5b5, everything else as B, G, R, X/A. */
GLZ_INLINE unsigned glz_store_bpp(uint32_t type) { return type == T_RGB16 ? 2u : 4u; }

/* Spare bytes after every stored image so block copies may run over. */
#define GLZ_SLACK 64

GLZ_INLINE uint32_t glz_ld32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
GLZ_INLINE void glz_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
GLZ_INLINE uint16_t glz_ld16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
GLZ_INLINE void glz_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
GLZ_INLINE uint32_t glz_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
GLZ_INLINE void glz_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Mask of the B, G, R bytes of a 4-byte stored pixel loaded with glz_ld32. */
#if GLZ_LE
#define GLZ_RGB_MASK 0x00FFFFFFu
#else
#define GLZ_RGB_MASK 0xFFFFFF00u
#endif

#endif
