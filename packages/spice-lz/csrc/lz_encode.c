/* SPICE LZ encoder.
 *
 * The image is coded as one run of pixels in stream order. Match finding
 * follows the reference encoder's observable behaviour, so that the output is
 * the same byte stream a SPICE server would send:
 *   - when pixels i-1 .. i+2 are all equal, a distance-1 match (a run) is
 *     taken without consulting the dictionary;
 *   - otherwise one dictionary slot per hash of the next three pixels (a
 *     13-bit DJB2-style hash, multiply by 33 then xor each byte) gives one
 *     candidate, which must match a type-dependent minimum (more when far);
 *   - matches end at the first differing pixel but at most 3 pixels before the
 *     image end, and the slots of the match's last two pixels are refreshed;
 *   - the last pixels are always literals.
 * Pixels compare without the bits the stream ignores (RGB32's X byte, RGB16's
 * bit 15), while literals carry the pixel as given.
 */
#include <stdlib.h>

#include "lz_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define HASH_BITS 13
#define HASH_SIZE (1u << HASH_BITS)

enum lz_ekind {
    E_BYTE,  /* one byte a pixel: palette indices, alpha */
    E_RGB16, /* little-endian x1r5g5b5 */
    E_RGB32  /* B G R X */
};

#define EKIND_SIZE(k) ((k) == E_BYTE ? 1u : (k) == E_RGB16 ? 2u : 4u)
/* Smallest match the encoder takes, and the extra pixels a far match needs. */
#define EKIND_MIN(k) ((k) == E_BYTE ? 3u : (k) == E_RGB16 ? 2u : 1u)
#define EKIND_FAR_EXTRA(k) ((k) == E_BYTE ? 2u : 1u)
/* Literal bytes per pixel. */
#define EKIND_LIT(k) ((k) == E_BYTE ? 1u : (k) == E_RGB16 ? 2u : 3u)

SC_INLINE uint32_t lz_key(const enum lz_ekind kind, const uint8_t *px, size_t i)
{
    if (kind == E_BYTE) {
        return px[i];
    }
    if (kind == E_RGB16) {
        return sc_load_le16(px + 2 * i) & 0x7FFFu;
    }
    return sc_load_le32(px + 4 * i) & 0x00FFFFFFu;
}

SC_INLINE uint32_t lz_hash(const enum lz_ekind kind, const uint8_t *px, size_t i)
{
    uint32_t h = 5381;
#define MIX(c) (h = ((h << 5) + h) ^ (uint32_t)(c))
    if (kind == E_BYTE) {
        MIX(px[i]);
        MIX(px[i + 1]);
        MIX(px[i + 2]);
    } else if (kind == E_RGB16) {
        for (size_t k = 0; k < 3; k++) {
            const uint8_t *p = px + 2 * (i + k);
            MIX(p[0]);
            MIX(p[1] & 0x7F);
        }
    } else {
        for (size_t k = 0; k < 3; k++) {
            const uint8_t *p = px + 4 * (i + k);
            MIX(p[2]);
            MIX(p[1]);
            MIX(p[0]);
        }
    }
#undef MIX
    return h & (HASH_SIZE - 1);
}

/* Hashes of the 8 positions j .. j+7 (pixels j .. j+9 are read). */
#define HASH_BLOCK 8

SC_INLINE void lz_hash_block(const enum lz_ekind kind, const uint8_t *px, size_t j, uint16_t *hb)
{
#if defined(__SSE2__)
    /* Eight hashes side by side in 16-bit lanes; only the low 13 bits matter
     * and they do not depend on the higher ones. */
    __m128i c[9];
    if (kind == E_BYTE) {
        const __m128i zero = _mm_setzero_si128();
        for (int k = 0; k < 3; k++) {
            __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)(px + j + k));
            c[k] = _mm_unpacklo_epi8(v, zero);
        }
    } else if (kind == E_RGB16) {
        const __m128i lo = _mm_set1_epi16(0xFF), hi7 = _mm_set1_epi16(0x7F);
        for (int k = 0; k < 3; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(px + 2 * (j + k)));
            c[2 * k] = _mm_and_si128(v, lo);
            c[2 * k + 1] = _mm_and_si128(_mm_srli_epi16(v, 8), hi7);
        }
    } else {
        const __m128i m = _mm_set1_epi32(0xFF);
        for (int k = 0; k < 3; k++) {
            const uint8_t *p = px + 4 * (j + k);
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
            c[3 * k] = _mm_packs_epi32(_mm_and_si128(_mm_srli_epi32(a, 16), m),
                                       _mm_and_si128(_mm_srli_epi32(b, 16), m));
            c[3 * k + 1] = _mm_packs_epi32(_mm_and_si128(_mm_srli_epi32(a, 8), m),
                                           _mm_and_si128(_mm_srli_epi32(b, 8), m));
            c[3 * k + 2] = _mm_packs_epi32(_mm_and_si128(a, m), _mm_and_si128(b, m));
        }
    }
    const int steps = kind == E_BYTE ? 3 : kind == E_RGB16 ? 6 : 9;
    __m128i h = _mm_set1_epi16(5381);
    for (int k = 0; k < steps; k++) {
        h = _mm_xor_si128(_mm_add_epi16(_mm_slli_epi16(h, 5), h), c[k]);
    }
    h = _mm_and_si128(h, _mm_set1_epi16(HASH_SIZE - 1));
    _mm_storeu_si128((__m128i *)(void *)hb, h);
#else
    for (size_t k = 0; k < HASH_BLOCK; k++) {
        hb[k] = (uint16_t)lz_hash(kind, px, j + k);
    }
#endif
}

/* Append pixel i as a literal. RGB32 stores 4 bytes and keeps 3 (the caller
 * guarantees room). */
SC_INLINE uint8_t *lz_put_pixel(const enum lz_ekind kind, uint8_t *op, const uint8_t *px, size_t i)
{
    if (kind == E_BYTE) {
        *op = px[i];
        return op + 1;
    }
    if (kind == E_RGB16) {
        op[0] = px[2 * i + 1];
        op[1] = px[2 * i];
        return op + 2;
    }
    memcpy(op, px + 4 * i, 4);
    return op + 3;
}

/* First j in [s, lim) whose pixel differs from the one dist pixels back, or lim. */
SC_INLINE size_t lz_mismatch(const enum lz_ekind kind, const uint8_t *px, size_t s, size_t lim, size_t dist)
{
    size_t j = s;
#if !SC_BIG_ENDIAN
    const size_t es = EKIND_SIZE(kind), per = 8 / es;
    const uint64_t mask = kind == E_BYTE    ? ~0ull
                          : kind == E_RGB16 ? 0x7FFF7FFF7FFF7FFFull
                                            : 0x00FFFFFF00FFFFFFull;
    while (j + per <= lim) {
        uint64_t x = (sc_ld64(px + j * es) ^ sc_ld64(px + (j - dist) * es)) & mask;
        if (x) {
            return j + sc_ctz64(x) / (8 * es);
        }
        j += per;
    }
#endif
    while (j < lim && lz_key(kind, px, j) == lz_key(kind, px, j - dist)) {
        j++;
    }
    return j;
}

/* Append a match token: length field lf (>= 1), biased distance d. */
SC_INLINE uint8_t *lz_put_match(uint8_t *op, size_t lf, size_t d)
{
    const int far = d >= LZ_NEAR_LIMIT;
    if (far) {
        d -= LZ_NEAR_LIMIT;
    }
    const uint32_t hi = far ? 31u : (uint32_t)(d >> 8);
    if (lf < 7) {
        *op++ = (uint8_t)((lf << 5) + hi);
    } else {
        *op++ = (uint8_t)((7u << 5) + hi);
        for (lf -= 7; lf >= 255; lf -= 255) {
            *op++ = 255;
        }
        *op++ = (uint8_t)lf;
    }
    if (far) {
        *op++ = 255;
        *op++ = (uint8_t)(d >> 8);
    }
    *op++ = (uint8_t)d;
    return op;
}

/* Compress n pixels into op. Returns the new end, or NULL if oend is reached. */
SC_INLINE uint8_t *lz_compress(const enum lz_ekind kind, const uint8_t *px, size_t n, uint8_t *op,
                               uint8_t *oend, uint32_t *htab)
{
    const size_t bias = EKIND_MIN(kind);
    if (n < 4) {
        if ((size_t)(oend - op) < 1 + 4 * n) {
            return NULL;
        }
        *op++ = (uint8_t)(n - 1);
        for (size_t i = 0; i < n; i++) {
            op = lz_put_pixel(kind, op, px, i);
        }
        return op;
    }
    memset(htab, 0, HASH_SIZE * sizeof *htab);
    if ((size_t)(oend - op) < 16) {
        return NULL;
    }
    uint8_t *ctrl = op;
    *op++ = LZ_LITERAL_MAX - 1;
    op = lz_put_pixel(kind, op, px, 0);
    op = lz_put_pixel(kind, op, px, 1);
    size_t copy = 2, ip = 2;
    const size_t limit = n > 6 ? n - 6 : 0, cap = n - 3;
    /* Hashes are computed a block at a time while a whole block fits. */
    uint16_t hb[HASH_BLOCK];
    size_t hb_at = SIZE_MAX / 2; /* far from any position: no block yet */
    const size_t block_limit = n >= HASH_BLOCK + 2 ? n - (HASH_BLOCK + 2) : 0;

    while (ip < limit) {
        if (SC_UNLIKELY((size_t)(oend - op) < 16)) {
            return NULL;
        }
        const size_t anchor = ip;
        size_t dist, verified;
        const uint32_t k0 = lz_key(kind, px, ip);
        if (lz_key(kind, px, ip - 1) == k0 && lz_key(kind, px, ip + 1) == k0 && lz_key(kind, px, ip + 2) == k0) {
            dist = 1;
            verified = 3;
        } else {
            uint32_t h;
            if (ip - hb_at < HASH_BLOCK) {
                h = hb[ip - hb_at];
            } else if (ip <= block_limit) {
                lz_hash_block(kind, px, ip, hb);
                hb_at = ip;
                h = hb[0];
            } else {
                h = lz_hash(kind, px, ip);
            }
            const size_t ref = htab[h];
            htab[h] = (uint32_t)anchor;
            dist = anchor - ref;
            if (dist == 0 || dist >= LZ_FAR_LIMIT) {
                goto literal;
            }
            verified = EKIND_MIN(kind) + (dist >= LZ_NEAR_LIMIT ? EKIND_FAR_EXTRA(kind) : 0);
            for (size_t k = 0; k < verified; k++) {
                if (lz_key(kind, px, ref + k) != lz_key(kind, px, anchor + k)) {
                    goto literal;
                }
            }
        }
        {
            const size_t s = anchor + verified;
            const size_t end = s >= cap ? cap : lz_mismatch(kind, px, s, cap, dist);
            const size_t lf = end - anchor - bias + 1;
            if (SC_UNLIKELY((size_t)(oend - op) < 16 + lf / 255)) {
                return NULL;
            }
            if (copy) {
                *ctrl = (uint8_t)(copy - 1);
            } else {
                op--; /* drop the unused literal counter */
            }
            copy = 0;
            op = lz_put_match(op, lf, dist - 1);
            if (end - 2 > anchor) {
                htab[lz_hash(kind, px, end - 2)] = (uint32_t)(end - 2);
            }
            if (end - 1 > anchor) {
                htab[lz_hash(kind, px, end - 1)] = (uint32_t)(end - 1);
            }
            ip = end;
            ctrl = op;
            *op++ = LZ_LITERAL_MAX - 1;
            continue;
        }
    literal:
        op = lz_put_pixel(kind, op, px, anchor);
        ip = anchor + 1;
        if (++copy == LZ_LITERAL_MAX) {
            copy = 0;
            ctrl = op;
            *op++ = LZ_LITERAL_MAX - 1;
        }
    }

    for (; ip < n; ip++) {
        if (SC_UNLIKELY((size_t)(oend - op) < 8)) {
            return NULL;
        }
        op = lz_put_pixel(kind, op, px, ip);
        if (++copy == LZ_LITERAL_MAX) {
            copy = 0;
            ctrl = op;
            *op++ = LZ_LITERAL_MAX - 1;
        }
    }
    if (copy) {
        *ctrl = (uint8_t)(copy - 1);
    } else {
        op--;
    }
    return op;
}

static uint8_t *lz_compress_byte(const uint8_t *px, size_t n, uint8_t *op, uint8_t *oend, uint32_t *htab)
{
    return lz_compress(E_BYTE, px, n, op, oend, htab);
}

static uint8_t *lz_compress_rgb16(const uint8_t *px, size_t n, uint8_t *op, uint8_t *oend, uint32_t *htab)
{
    return lz_compress(E_RGB16, px, n, op, oend, htab);
}

static uint8_t *lz_compress_rgb32(const uint8_t *px, size_t n, uint8_t *op, uint8_t *oend, uint32_t *htab)
{
    return lz_compress(E_RGB32, px, n, op, oend, htab);
}

static int lz_type_ok(int type) { return type >= SPICE_LZ_PLT1_LE && type <= SPICE_LZ_A8; }

/* Worst case of one stream: every pixel literal, one counter per 32, slack. */
static uint64_t lz_stream_bound(uint64_t n, uint64_t lit)
{
    return n * lit + n / 32 + 32;
}

size_t spice_lz_encode_bound(int type, uint32_t width, uint32_t height)
{
    if (!lz_type_ok(type) || width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
        return 0;
    }
    uint64_t stride = lz_row_stride((uint32_t)type, width);
    if (stride * height > LZ_MAX_BYTES) {
        return 0;
    }
    uint64_t n = (uint64_t)width * height, total;
    switch (type) {
    case SPICE_LZ_RGB16: total = lz_stream_bound(n, 2); break;
    case SPICE_LZ_RGB24:
    case SPICE_LZ_RGB32: total = lz_stream_bound(n, 3); break;
    case SPICE_LZ_RGBA: total = lz_stream_bound(n, 3) + lz_stream_bound(n, 1); break;
    case SPICE_LZ_XXXA:
    case SPICE_LZ_A8: total = lz_stream_bound(n, 1); break;
    default: total = lz_stream_bound(stride * height, 1); break;
    }
    total += SPICE_LZ_HEADER_SIZE + 16;
    return total > (SIZE_MAX >> 1) ? 0 : (size_t)total;
}

int spice_lz_encode(int type, uint32_t width, uint32_t height, int top_down, const uint8_t *pixels,
                    size_t pix_len, size_t in_stride, uint8_t *out, size_t out_cap, size_t *out_size)
{
    size_t bound = spice_lz_encode_bound(type, width, height);
    if (bound == 0) {
        return SC_E_ARG;
    }
    if (out_cap < bound) {
        return SC_E_BUFFER;
    }
    const size_t w = width, h = height;
    const size_t row = (size_t)lz_row_stride((uint32_t)type, width); /* native input row bytes */
    if (in_stride < row || in_stride > (SIZE_MAX - row) / h || pix_len < in_stride * (h - 1) + row) {
        return SC_E_ARG;
    }
    const uint32_t fields[7] = {LZ_MAGIC, LZ_VERSION, (uint32_t)type, width, height, (uint32_t)row,
                                top_down ? 1u : 0u};
    for (int i = 0; i < 7; i++) {
        sc_store_be32(out + 4 * i, fields[i]);
    }
    uint8_t *op = out + SPICE_LZ_HEADER_SIZE;
    uint8_t *const oend = out + out_cap;

    uint32_t *htab = (uint32_t *)malloc(HASH_SIZE * sizeof *htab);
    if (!htab) {
        return SC_E_NOMEM;
    }
    /* Rows in stream order, one contiguous run: the caller's memory when it
     * already is, else a copy (RGB24 is widened to 4 bytes a pixel, as its
     * stream is the RGB32 one). */
    const int rgb24 = type == SPICE_LZ_RGB24;
    const size_t lin_row = rgb24 ? 4 * w : row;
    const uint8_t *lin = pixels;
    uint8_t *copy = NULL;
    if (rgb24 || !top_down || in_stride != row) {
        copy = (uint8_t *)malloc(lin_row * h);
        if (!copy) {
            free(htab);
            return SC_E_NOMEM;
        }
        for (size_t r = 0; r < h; r++) {
            const uint8_t *src = pixels + (top_down ? r : h - 1 - r) * in_stride;
            uint8_t *dst = copy + r * lin_row;
            if (rgb24) {
                for (size_t x = 0; x < w; x++) {
                    dst[4 * x] = src[3 * x];
                    dst[4 * x + 1] = src[3 * x + 1];
                    dst[4 * x + 2] = src[3 * x + 2];
                    dst[4 * x + 3] = 0;
                }
            } else {
                memcpy(dst, src, row);
            }
        }
        lin = copy;
    }

    const size_t n = w * h;
    uint8_t *alpha = NULL;
    switch (type) {
    case SPICE_LZ_RGB16:
        op = lz_compress_rgb16(lin, n, op, oend, htab);
        break;
    case SPICE_LZ_RGB24:
    case SPICE_LZ_RGB32:
        op = lz_compress_rgb32(lin, n, op, oend, htab);
        break;
    case SPICE_LZ_RGBA:
    case SPICE_LZ_XXXA:
        if (type == SPICE_LZ_RGBA) {
            op = lz_compress_rgb32(lin, n, op, oend, htab);
        }
        alpha = (uint8_t *)malloc(n);
        if (!alpha) {
            free(copy);
            free(htab);
            return SC_E_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            alpha[i] = lin[4 * i + 3];
        }
        if (op) {
            op = lz_compress_byte(alpha, n, op, oend, htab);
        }
        break;
    case SPICE_LZ_A8:
        op = lz_compress_byte(lin, n, op, oend, htab);
        break;
    default: /* palette types: the packed bytes */
        op = lz_compress_byte(lin, row * h, op, oend, htab);
        break;
    }
    free(alpha);
    free(copy);
    free(htab);
    if (!op) {
        return SC_E_BUFFER;
    }
    *out_size = (size_t)(op - out);
    return SC_OK;
}
