/* Helpers shared by the decoder and the encoder (not part of the cffi API). */
#ifndef SPICE_GLZ_INTERNAL_H
#define SPICE_GLZ_INTERNAL_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glz.h"
#include "spice_codec.h"

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
SC_INLINE unsigned glz_store_bpp(uint32_t type) { return type == T_RGB16 ? 2u : 4u; }

/* Spare bytes after every stored image so block copies may run over. */
#define GLZ_SLACK 64

/* Mask of the B, G, R bytes of a 4-byte stored pixel loaded with sc_ld32. */
#if SC_BIG_ENDIAN
#define GLZ_RGB_MASK 0xFFFFFF00u
#else
#define GLZ_RGB_MASK 0x00FFFFFFu
#endif

/* Pixel buffers of images that left a dictionary, kept for the next images:
 * fresh memory costs a page fault per 4 KiB, more than decoding into it. */
#define GLZ_POOL_SIZE 4
typedef struct {
    uint8_t *buf[GLZ_POOL_SIZE];
    size_t cap[GLZ_POOL_SIZE];
    unsigned n;
} glz_pool;

/* A buffer of at least need bytes (a pooled one when it fits snugly), or NULL. */
static inline uint8_t *glz_pool_get(glz_pool *pl, size_t need, size_t *cap) {
    int best = -1;
    for (unsigned i = 0; i < pl->n; i++)
        if (pl->cap[i] >= need && pl->cap[i] - need <= need / 4 + 4096 &&
            (best < 0 || pl->cap[i] < pl->cap[best]))
            best = (int)i;
    if (best >= 0) {
        uint8_t *p = pl->buf[best];
        *cap = pl->cap[best];
        pl->n--;
        pl->buf[best] = pl->buf[pl->n];
        pl->cap[best] = pl->cap[pl->n];
        return p;
    }
    *cap = need;
    return (uint8_t *)malloc(need);
}

static inline void glz_pool_put(glz_pool *pl, uint8_t *p, size_t cap) {
    if (!p) return;
    if (pl->n < GLZ_POOL_SIZE) {
        pl->buf[pl->n] = p;
        pl->cap[pl->n++] = cap;
        return;
    }
    unsigned small = 0; /* keep the larger buffers */
    for (unsigned i = 1; i < GLZ_POOL_SIZE; i++)
        if (pl->cap[i] < pl->cap[small]) small = i;
    if (pl->cap[small] < cap) {
        free(pl->buf[small]);
        pl->buf[small] = p;
        pl->cap[small] = cap;
    } else {
        free(p);
    }
}

static inline void glz_pool_drain(glz_pool *pl) {
    for (unsigned i = 0; i < pl->n; i++) free(pl->buf[i]);
    pl->n = 0;
}

#endif
