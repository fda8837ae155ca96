/* SPICE LZ decoder.
 *
 * Stream grammar (after the 28-byte header), one token at a time:
 *   ctrl < 32   literal run: ctrl + 1 pixels follow, each in the type's literal
 *               form (RGB24/32: B G R; RGB16: high byte, low byte; alpha and
 *               palette types: one byte).
 *   ctrl >= 32  match: length field = ctrl >> 5 (7 means "add the following
 *               bytes until one is not 255"), distance = (ctrl & 31) << 8 | next
 *               byte; the pair 31/255 announces a 16-bit distance (+8191) in the
 *               two bytes that follow. The distance is stored minus one and the
 *               length minus a type bias (the minimum match the encoder emits).
 * Palette types are coded over their packed bytes; matches copy earlier output.
 */
#include <stdlib.h>

#include "lz_internal.h"

enum lz_kind {
    K_RGB32,    /* 3-byte literals into 32-bit B G R 0 pixels */
    K_RGB16_32, /* 2-byte 15-bit literals expanded into 32-bit pixels */
    K_RGB16,    /* 2-byte literals into native 16-bit pixels */
    K_BYTE,     /* 1-byte literals into bytes (alpha, palette indices) */
    K_ALPHA32   /* 1-byte literals into byte 3 of 32-bit pixels */
};

#define KIND_OUT_SIZE(k) ((k) == K_RGB16 ? 2u : (k) == K_BYTE ? 1u : 4u)
#define KIND_LIT_SIZE(k) ((k) == K_RGB32 ? 3u : ((k) == K_RGB16 || (k) == K_RGB16_32) ? 2u : 1u)
#define KIND_BIAS(k) ((k) == K_RGB32 ? 1u : ((k) == K_RGB16 || (k) == K_RGB16_32) ? 2u : 3u)

typedef struct {
    const uint8_t *base; /* start of the blob, for error offsets */
    const uint8_t *ip;   /* next unread byte */
    const uint8_t *iend; /* end of the blob */
    sc_error *st;
} lz_reader;

/* A failure at blob offset `offset` (the output pixel is not tracked). */
static int lz_fail(sc_error *st, int code, size_t offset, uint32_t value)
{
    return sc_fail(st, code, (int64_t)offset, -1, value);
}

/* 15-bit x1r5g5b5 (given as its big-endian bytes) to 32-bit B G R 0. */
SC_INLINE uint32_t lz_rgb16_to_32(uint32_t hi, uint32_t lo)
{
    uint32_t r = (hi >> 2) & 31, g = ((hi & 3) << 3) | (lo >> 5), b = lo & 31;
    r = (r << 3) | (r >> 2);
    g = (g << 3) | (g >> 2);
    b = (b << 3) | (b >> 2);
    return b | (g << 8) | (r << 16);
}

SC_INLINE void lz_store_px32(uint8_t *op, uint32_t v)
{
#if SC_BIG_ENDIAN
    sc_store_le32(op, v);
#else
    sc_st32(op, v);
#endif
}

/* Copy len bytes from dist bytes back, with the overlap semantics of a forward
 * byte loop. When at least 16 bytes of room follow the match, wide stores may
 * write past its end (the bytes are rewritten by what comes next). */
SC_INLINE void lz_copy_match(uint8_t *op, size_t dist, size_t len, const uint8_t *oend)
{
    const uint8_t *ref = op - dist;
    uint8_t *end = op + len;
    if (SC_LIKELY((size_t)(oend - end) >= 16)) {
        if (dist >= 16) {
            if (len >= 64 && dist >= len) {
                memcpy(op, ref, len);
                return;
            }
            do {
                uint64_t a = sc_ld64(ref), b = sc_ld64(ref + 8);
                sc_st64(op, a);
                sc_st64(op + 8, b);
                op += 16;
                ref += 16;
            } while (op < end);
            return;
        }
        if (dist >= 8) {
            do {
                sc_st64(op, sc_ld64(ref));
                op += 8;
                ref += 8;
            } while (op < end);
            return;
        }
        uint64_t pat;
        if (dist == 4) {
            uint64_t v = sc_ld32(ref);
            pat = v | (v << 32);
        } else if (dist == 1) {
            pat = (uint64_t)ref[0] * 0x0101010101010101ull;
        } else if (dist == 2) {
            pat = (uint64_t)sc_ld16(ref) * 0x0001000100010001ull;
        } else {
            /* 3, 5, 6, 7: lay down a whole multiple of the period >= 8 bytes,
             * then copy 8-byte chunks from that far back. */
            size_t period = dist * ((8 + dist - 1) / dist);
            size_t head = period < len ? period : len;
            for (size_t i = 0; i < head; i++) {
                op[i] = ref[i];
            }
            op += head;
            ref = op - period;
            while (op < end) {
                sc_st64(op, sc_ld64(ref));
                op += 8;
                ref += 8;
            }
            return;
        }
        do {
            sc_st64(op, pat);
            sc_st64(op + 8, pat);
            op += 16;
        } while (op < end);
        return;
    }
    while (op < end) {
        *op++ = *ref++;
    }
}

/* Decode one LZ stream of npix pixels into out. Returns 0 or an error code. */
SC_INLINE int lz_stream(const enum lz_kind kind, lz_reader *rd, uint8_t *out, size_t npix)
{
    const size_t es = KIND_OUT_SIZE(kind), ls = KIND_LIT_SIZE(kind), bias = KIND_BIAS(kind);
    const uint8_t *ip = rd->ip;
    const uint8_t *const iend = rd->iend;
    uint8_t *op = out;
    uint8_t *const oend = out + npix * es;
    const uint8_t *tok = ip;

    while (op < oend) {
        tok = ip;
        if (SC_UNLIKELY(ip >= iend)) {
            goto truncated;
        }
        size_t ctrl = *ip++;
        if (ctrl < LZ_LITERAL_MAX) {
            size_t n = ctrl + 1;
            if (SC_UNLIKELY(n * es > (size_t)(oend - op))) {
                goto overrun;
            }
            if (SC_UNLIKELY(n * ls > (size_t)(iend - ip))) {
                goto truncated;
            }
            if (kind == K_RGB32) {
                if (SC_LIKELY((size_t)(iend - ip) >= n * 3 + 8)) {
                    /* Two pixels per 8-byte load: bytes 0-2 and 3-5. */
                    const uint8_t *lend = ip + n * 3;
                    while (n >= 2) {
                        uint64_t v = sc_ld64(ip);
#if SC_BIG_ENDIAN
                        lz_store_px32(op, (uint32_t)ip[0] | (uint32_t)ip[1] << 8 | (uint32_t)ip[2] << 16);
                        lz_store_px32(op + 4, (uint32_t)ip[3] | (uint32_t)ip[4] << 8 | (uint32_t)ip[5] << 16);
                        (void)v;
#else
                        sc_st64(op, (v & 0xFFFFFFull) | ((v << 8) & 0x00FFFFFF00000000ull));
#endif
                        ip += 6;
                        op += 8;
                        n -= 2;
                    }
                    if (n) {
                        lz_store_px32(op, (uint32_t)ip[0] | (uint32_t)ip[1] << 8 | (uint32_t)ip[2] << 16);
                        op += 4;
                    }
                    ip = lend;
                } else {
                    for (size_t i = 0; i < n; i++, ip += 3, op += 4) {
                        lz_store_px32(op, (uint32_t)ip[0] | (uint32_t)ip[1] << 8 | (uint32_t)ip[2] << 16);
                    }
                }
            } else if (kind == K_RGB16_32) {
                for (size_t i = 0; i < n; i++, ip += 2, op += 4) {
                    lz_store_px32(op, lz_rgb16_to_32(ip[0], ip[1]));
                }
            } else if (kind == K_RGB16) {
                for (size_t i = 0; i < n; i++, ip += 2, op += 2) {
                    op[0] = ip[1];
                    op[1] = ip[0];
                }
            } else if (kind == K_BYTE) {
                memcpy(op, ip, n);
                ip += n;
                op += n;
            } else {
                for (size_t i = 0; i < n; i++, op += 4) {
                    op[3] = *ip++;
                }
            }
            continue;
        }

        size_t len = (ctrl >> 5) - 1 + bias;
        if ((ctrl >> 5) == 7) {
            size_t more;
            do {
                if (SC_UNLIKELY(ip >= iend)) {
                    goto truncated;
                }
                more = *ip++;
                len += more;
            } while (more == 255);
        }
        if (SC_UNLIKELY(ip >= iend)) {
            goto truncated;
        }
        size_t code = *ip++;
        size_t dist = ((ctrl & 31) << 8) + code;
        if (SC_UNLIKELY(dist == (31u << 8) + 255u)) {
            if (SC_UNLIKELY(iend - ip < 2)) {
                goto truncated;
            }
            dist = (((size_t)ip[0] << 8) | ip[1]) + LZ_NEAR_LIMIT;
            ip += 2;
        }
        dist += 1;
        if (SC_UNLIKELY(dist > (size_t)(op - out) / es)) {
            rd->ip = tok;
            return lz_fail(rd->st, SC_E_REFERENCE, (size_t)(tok - rd->base),
                           dist > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)dist);
        }
        if (SC_UNLIKELY(len > (size_t)(oend - op) / es)) {
            goto overrun;
        }
        if (kind == K_ALPHA32) {
            const uint8_t *ref = op - dist * 4;
            for (size_t i = 0; i < len; i++, op += 4, ref += 4) {
                op[3] = ref[3];
            }
        } else {
            lz_copy_match(op, dist * es, len * es, oend);
            op += len * es;
        }
    }
    rd->ip = ip;
    return SC_OK;

truncated:
    rd->ip = tok;
    return lz_fail(rd->st, SC_E_TRUNCATED, (size_t)(tok - rd->base), 0);
overrun:
    rd->ip = tok;
    return lz_fail(rd->st, SC_E_OVERRUN, (size_t)(tok - rd->base), 0);
}

static int lz_stream_rgb32(lz_reader *rd, uint8_t *out, size_t n) { return lz_stream(K_RGB32, rd, out, n); }
static int lz_stream_rgb16_32(lz_reader *rd, uint8_t *out, size_t n) { return lz_stream(K_RGB16_32, rd, out, n); }
static int lz_stream_rgb16(lz_reader *rd, uint8_t *out, size_t n) { return lz_stream(K_RGB16, rd, out, n); }
static int lz_stream_byte(lz_reader *rd, uint8_t *out, size_t n) { return lz_stream(K_BYTE, rd, out, n); }
static int lz_stream_alpha32(lz_reader *rd, uint8_t *out, size_t n) { return lz_stream(K_ALPHA32, rd, out, n); }

int spice_lz_core_abi(void) { return SPICE_LZ_ABI; }

/* Most stream units (pixels; packed index bytes for palette types) one data
 * byte can stand for.  A literal token of n units takes 1 + n bytes at least.
 * A match takes a control byte, k >= 0 length bytes and a distance byte, and
 * copies at most 6 + bias (<= 3) + 255 * k units: <= 255 per token byte. */
#define LZ_MAX_UNITS_PER_BYTE 255u

uint64_t spice_lz_pixel_bound(size_t len, uint32_t type, uint32_t width)
{
    if (len <= SPICE_LZ_HEADER_SIZE) {
        return 0;
    }
    const uint64_t units = (uint64_t)(len - SPICE_LZ_HEADER_SIZE) * LZ_MAX_UNITS_PER_BYTE;
    if (!lz_is_plt(type)) {
        return units; /* RGBA's second (alpha) stream covers the same pixels */
    }
    /* Palette types code whole rows of stride bytes: at most units / stride rows. */
    const uint64_t stride = lz_row_stride(type, width);
    return stride ? units / stride * width : 0;
}

int spice_lz_parse_header(const uint8_t *blob, size_t len, spice_lz_header *hdr, sc_error *st)
{
    sc_clear(st);
    if (len < SPICE_LZ_HEADER_SIZE) {
        return lz_fail(st, SC_E_SHORT_HEADER, 0, (uint32_t)len);
    }
    uint32_t magic = sc_load_be32(blob), version = sc_load_be32(blob + 4);
    if (magic != LZ_MAGIC) {
        return lz_fail(st, SC_E_MAGIC, 0, magic);
    }
    if (version != LZ_VERSION) {
        return lz_fail(st, SC_E_VERSION, 4, version);
    }
    hdr->type = sc_load_be32(blob + 8);
    hdr->width = sc_load_be32(blob + 12);
    hdr->height = sc_load_be32(blob + 16);
    hdr->stride = sc_load_be32(blob + 20);
    hdr->top_down = sc_load_be32(blob + 24);
    if (hdr->type < SPICE_LZ_PLT1_LE || hdr->type > SPICE_LZ_A8) {
        return lz_fail(st, SC_E_TYPE, 8, hdr->type);
    }
    if (hdr->width == 0 || hdr->height == 0) {
        return lz_fail(st, SC_E_SIZE, hdr->width == 0 ? 12 : 16, 0);
    }
    if (hdr->width > 0x7FFFFFFFu || hdr->height > 0x7FFFFFFFu) {
        return lz_fail(st, SC_E_TOO_LARGE, hdr->width > 0x7FFFFFFFu ? 12 : 16, 0);
    }
    if (hdr->stride != lz_row_stride(hdr->type, hdr->width)) {
        return lz_fail(st, SC_E_STRIDE, 20, hdr->stride);
    }
    if ((uint64_t)hdr->stride * hdr->height > LZ_MAX_BYTES) {
        return lz_fail(st, SC_E_TOO_LARGE, 16, 0);
    }
    if (hdr->top_down > 1) {
        return lz_fail(st, SPICE_LZ_E_TOP_DOWN, 24, hdr->top_down);
    }
    return SC_OK;
}

/* Reverse the order of h rows of rowbytes each, in place. */
static void lz_flip_rows(uint8_t *buf, size_t rowbytes, size_t h)
{
    for (size_t a = 0, b = h - 1; a < b; a++, b--) {
        uint8_t *p = buf + a * rowbytes, *q = buf + b * rowbytes;
        size_t i = 0;
        for (; i + 8 <= rowbytes; i += 8) {
            uint64_t x = sc_ld64(p + i), y = sc_ld64(q + i);
            sc_st64(p + i, y);
            sc_st64(q + i, x);
        }
        for (; i < rowbytes; i++) {
            uint8_t t = p[i];
            p[i] = q[i];
            q[i] = t;
        }
    }
}

/* Expand palette indices (stream order, hdr->stride bytes a row) into 32-bit
 * pixels, cropping padding pixels and putting the top row first. */
static int lz_expand_palette(const spice_lz_header *hdr, const uint8_t *idx, const uint8_t *palette,
                             uint32_t num_ents, uint8_t *out, size_t out_stride, sc_error *st)
{
    /* Entries the palette lacks carry a flag in the top byte so that a use is
     * detected after the row is written. */
    const uint32_t missing = 0xFF000000u;
    uint32_t tab[256];
    uint32_t have = num_ents < 256 ? num_ents : 256;
    for (uint32_t i = 0; i < 256; i++) {
        tab[i] = i < have ? (sc_load_le32(palette + 4 * i) & 0x00FFFFFFu) : missing;
    }
    if (hdr->type == SPICE_LZ_PLT4_LE || hdr->type == SPICE_LZ_PLT4_BE) {
        /* PLT4 wraps indices modulo the palette size. */
        for (uint32_t i = 0; i < 16; i++) {
            tab[i] = tab[i % have];
        }
    }
    const size_t w = hdr->width, h = hdr->height, stride = hdr->stride;
    for (size_t r = 0; r < h; r++) {
        const uint8_t *src = idx + r * stride;
        uint8_t *dst = out + (hdr->top_down ? r : h - 1 - r) * out_stride;
        uint32_t bad = 0;
        switch (hdr->type) {
        case SPICE_LZ_PLT8:
            for (size_t x = 0; x < w; x++) {
                uint32_t v = tab[src[x]];
                bad |= v;
                lz_store_px32(dst + 4 * x, v);
            }
            break;
        case SPICE_LZ_PLT4_LE:
        case SPICE_LZ_PLT4_BE: {
            const int lo_first = hdr->type == SPICE_LZ_PLT4_LE;
            for (size_t x = 0; x < w; x++) {
                uint32_t b = src[x >> 1];
                uint32_t nib = ((x & 1) ^ (uint32_t)lo_first) ? (b & 15) : (b >> 4);
                lz_store_px32(dst + 4 * x, tab[nib]);
            }
            break;
        }
        default: {
            const int lsb_first = hdr->type == SPICE_LZ_PLT1_LE;
            for (size_t x = 0; x < w; x++) {
                uint32_t b = src[x >> 3];
                uint32_t bit = lsb_first ? (b >> (x & 7)) & 1 : (b >> (7 - (x & 7))) & 1;
                uint32_t v = tab[bit];
                bad |= v;
                lz_store_px32(dst + 4 * x, v);
            }
            break;
        }
        }
        if (bad & missing) {
            /* Find the first offending index for the message. */
            uint32_t which = 0;
            for (size_t x = 0; x < w; x++) {
                uint32_t i = hdr->type == SPICE_LZ_PLT8 ? src[x]
                             : hdr->type == SPICE_LZ_PLT1_LE ? (uint32_t)(src[x >> 3] >> (x & 7)) & 1
                                                             : (uint32_t)(src[x >> 3] >> (7 - (x & 7))) & 1;
                if (tab[i] & missing) {
                    which = i;
                    break;
                }
            }
            return lz_fail(st, SPICE_LZ_E_PALETTE_INDEX, SPICE_LZ_HEADER_SIZE, which);
        }
    }
    return SC_OK;
}

static int lz_format_ok(uint32_t type, int format)
{
    switch (type) {
    case SPICE_LZ_RGB16: return format == SPICE_LZ_FMT_BGRX32 || format == SPICE_LZ_FMT_X1R5G5B5;
    case SPICE_LZ_RGBA: return format == SPICE_LZ_FMT_BGRA32;
    case SPICE_LZ_XXXA:
    case SPICE_LZ_A8: return format == SPICE_LZ_FMT_A8;
    default: return format == SPICE_LZ_FMT_BGRX32; /* RGB24, RGB32, palette types */
    }
}

static size_t lz_format_size(int format)
{
    return format == SPICE_LZ_FMT_A8 ? 1 : format == SPICE_LZ_FMT_X1R5G5B5 ? 2 : 4;
}

/* Run the stream(s) of an RGB or alpha type into a linear buffer of npix pixels. */
static int lz_decode_linear(const spice_lz_header *hdr, int format, lz_reader *rd, uint8_t *buf, size_t npix)
{
    switch (hdr->type) {
    case SPICE_LZ_RGB24:
    case SPICE_LZ_RGB32:
        return lz_stream_rgb32(rd, buf, npix);
    case SPICE_LZ_RGBA: {
        int rc = lz_stream_rgb32(rd, buf, npix);
        return rc ? rc : lz_stream_alpha32(rd, buf, npix);
    }
    case SPICE_LZ_RGB16:
        return format == SPICE_LZ_FMT_X1R5G5B5 ? lz_stream_rgb16(rd, buf, npix)
                                               : lz_stream_rgb16_32(rd, buf, npix);
    default: /* XXXA, A8 */
        return lz_stream_byte(rd, buf, npix);
    }
}

int spice_lz_decode(const uint8_t *blob, size_t len, int format, const uint8_t *palette,
                    uint32_t num_ents, uint8_t *out, size_t out_len, size_t out_stride,
                    sc_error *st)
{
    spice_lz_header hdr;
    int rc = spice_lz_parse_header(blob, len, &hdr, st);
    if (rc) {
        return rc;
    }
    if (!lz_format_ok(hdr.type, format)) {
        return lz_fail(st, SC_E_FORMAT, 8, (uint32_t)format);
    }
    const size_t w = hdr.width, h = hdr.height;
    const size_t es = lz_format_size(format);
    const size_t rowbytes = w * es;
    if (out_stride < rowbytes || out_len < out_stride * (h - 1) + rowbytes ||
        out_stride > (SIZE_MAX - rowbytes) / h) {
        return lz_fail(st, SC_E_BUFFER, 0, 0);
    }
    if ((uint64_t)w * h > spice_lz_pixel_bound(len, hdr.type, hdr.width)) {
        return lz_fail(st, SC_E_IMPLAUSIBLE, 12, 0);
    }
    if (lz_is_plt(hdr.type) && (palette == NULL || num_ents == 0)) {
        return lz_fail(st, SPICE_LZ_E_NO_PALETTE, 0, 0);
    }

    lz_reader rd = {blob, blob + SPICE_LZ_HEADER_SIZE, blob + len, st};
    uint8_t *scratch = NULL;
    if (lz_is_plt(hdr.type)) {
        size_t nbytes = (size_t)hdr.stride * h;
        scratch = (uint8_t *)malloc(nbytes);
        if (!scratch) {
            return lz_fail(st, SC_E_NOMEM, 0, 0);
        }
        rc = lz_stream_byte(&rd, scratch, nbytes);
        if (!rc && rd.ip != rd.iend) {
            rc = lz_fail(st, SC_E_TRAILING, (size_t)(rd.ip - blob), (uint32_t)(rd.iend - rd.ip));
        }
        if (!rc) {
            rc = lz_expand_palette(&hdr, scratch, palette, num_ents, out, out_stride, st);
        }
        free(scratch);
        return rc;
    }

    const size_t npix = w * h;
    const int tight = out_stride == rowbytes;
    uint8_t *buf = out;
    if (!tight) {
        buf = scratch = (uint8_t *)malloc(npix * es);
        if (!scratch) {
            return lz_fail(st, SC_E_NOMEM, 0, 0);
        }
    }
    rc = lz_decode_linear(&hdr, format, &rd, buf, npix);
    if (!rc && rd.ip != rd.iend) {
        rc = lz_fail(st, SC_E_TRAILING, (size_t)(rd.ip - blob), (uint32_t)(rd.iend - rd.ip));
    }
    if (!rc) {
        if (tight) {
            if (!hdr.top_down) {
                lz_flip_rows(out, rowbytes, h);
            }
        } else {
            for (size_t r = 0; r < h; r++) {
                memcpy(out + (hdr.top_down ? r : h - 1 - r) * out_stride, buf + r * rowbytes, rowbytes);
            }
        }
    }
    free(scratch);
    return rc;
}
