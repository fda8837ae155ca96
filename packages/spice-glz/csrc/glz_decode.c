/* GLZ decoder and the client-side image window.
 *
 * Every decoded image is kept in the window in stream row order, 4 bytes a
 * pixel (B, G, R, X/A) or 2 bytes for RGB16 (x1r5g5b5, little-endian), so
 * later images can copy pixels from it by (image distance, pixel offset).
 */
#include <stdlib.h>

#include "glz_internal.h"

int spice_glz_core_abi(void) { return GLZ_ABI; }

/* ------------------------------------------------------------------ */
/* header */

int glz_read_header(const uint8_t *in, size_t in_len, glz_header *hdr, sc_error *err) {
    memset(hdr, 0, sizeof(*hdr));
    sc_clear(err);
    if (in_len < GLZ_HEADER_SIZE) return sc_fail(err, SC_E_SHORT_HEADER, 0, -1, in_len);
    if (sc_load_be32(in) != GLZ_MAGIC) return sc_fail(err, SC_E_MAGIC, 0, -1, sc_load_be32(in));
    if (sc_load_be32(in + 4) != GLZ_VERSION) return sc_fail(err, SC_E_VERSION, 4, -1, sc_load_be32(in + 4));
    hdr->type = in[8] & 0x0F;
    hdr->top_down = in[8] >> 4;
    hdr->width = sc_load_be32(in + 9);
    hdr->height = sc_load_be32(in + 13);
    hdr->stride = sc_load_be32(in + 17);
    hdr->id = ((uint64_t)sc_load_be32(in + 21) << 32) | sc_load_be32(in + 25);
    hdr->win_head_dist = sc_load_be32(in + 29);
    if (hdr->top_down > 1) return sc_fail(err, SC_E_TYPE, 8, -1, in[8]);
    if (hdr->type != T_RGB16 && hdr->type != T_RGB24 && hdr->type != T_RGB32 && hdr->type != T_RGBA)
        return sc_fail(err, SC_E_TYPE, 8, -1, hdr->type);
    if (hdr->width == 0) return sc_fail(err, SC_E_SIZE, 9, -1, 0);
    if (hdr->height == 0) return sc_fail(err, SC_E_SIZE, 13, -1, 0);
    uint64_t bpp = hdr->type == T_RGB16 ? 2 : hdr->type == T_RGB24 ? 3 : 4;
    if ((uint64_t)hdr->stride != bpp * hdr->width) return sc_fail(err, SC_E_STRIDE, 17, -1, hdr->stride);
    if ((uint64_t)hdr->win_head_dist > hdr->id) return sc_fail(err, GLZ_E_WINDOW, 29, -1, hdr->win_head_dist);
    return SC_OK;
}

/* ------------------------------------------------------------------ */
/* window */

typedef struct {
    uint64_t id;
    uint64_t npix;
    uint32_t type;
    uint8_t *pix; /* npix * store_bpp + GLZ_SLACK bytes at least, after a bufhdr */
    size_t cap;   /* bytes allocated, header included */
} wimage;

/* Window pixel buffers start with this header; pix = base + BUF_HDR. A
 * decoded image may be shared with the caller (glz_decode's pinned), so its
 * buffer is freed by whichever of the window and the caller lets go last. */
typedef struct {
    int refs;
} bufhdr;
#define BUF_HDR 64

#if defined(__GNUC__) || defined(__clang__)
#define REF_INC(p) __atomic_add_fetch(&(p)->refs, 1, __ATOMIC_ACQ_REL)
#define REF_DEC(p) __atomic_sub_fetch(&(p)->refs, 1, __ATOMIC_ACQ_REL)
#else
#define REF_INC(p) (++(p)->refs)
#define REF_DEC(p) (--(p)->refs)
#endif

static bufhdr *hdr_of(uint8_t *pix) { return (bufhdr *)(void *)(pix - BUF_HDR); }

void glz_unpin(uint8_t *pix) {
    if (pix && REF_DEC(hdr_of(pix)) == 0) free(hdr_of(pix));
}

/* The images are a run imgs[0..count) inside an array of cap entries from
 * base (imgs = base + off): the oldest leave by moving imgs on, so a window
 * of ~1,000 images costs no array shift per decoded image; the run moves back
 * to base only when it reaches the end of the array while using at most half. */
struct glz_window {
    wimage *imgs; /* sorted by id */
    wimage *base;
    size_t off, count, cap;
    uint64_t total;
    uint64_t max_pixels;
    glz_pool pool; /* buffers of evicted images, for reuse */
};

/* The window lets go of an image's buffer. */
static void release(glz_window *w, uint8_t *pix, size_t cap) {
    if (REF_DEC(hdr_of(pix)) == 0) glz_pool_put(&w->pool, pix - BUF_HDR, cap);
}

glz_window *glz_window_new(uint64_t max_pixels) {
    glz_window *w = calloc(1, sizeof(*w));
    if (w) w->max_pixels = max_pixels;
    return w;
}

static void window_drop_front(glz_window *w, size_t k) {
    if (k == 0) return;
    for (size_t i = 0; i < k; i++) {
        w->total -= w->imgs[i].npix;
        release(w, w->imgs[i].pix, w->imgs[i].cap);
    }
    w->count -= k;
    w->off = w->count ? w->off + k : 0;
    w->imgs = w->base ? w->base + w->off : NULL;
}

void glz_window_clear(glz_window *w) {
    window_drop_front(w, w->count);
    glz_pool_drain(&w->pool);
}

void glz_window_free(glz_window *w) {
    if (!w) return;
    glz_window_clear(w);
    free(w->base);
    free(w);
}

static void window_fit(glz_window *w, uint64_t extra) {
    size_t k = 0;
    uint64_t total = w->total;
    while (k < w->count && total + extra > w->max_pixels) total -= w->imgs[k++].npix;
    if (k) window_drop_front(w, k);
}

void glz_window_set_max_pixels(glz_window *w, uint64_t max_pixels) {
    w->max_pixels = max_pixels;
    window_fit(w, 0);
}

uint64_t glz_window_pixels(const glz_window *w) { return w->total; }
size_t glz_window_count(const glz_window *w) { return w->count; }

size_t glz_window_ids(const glz_window *w, uint64_t *out, size_t cap) {
    size_t n = w->count < cap ? w->count : cap;
    for (size_t i = 0; i < n; i++) out[i] = w->imgs[i].id;
    return w->count;
}

/* Index of the first image whose id is >= id. */
static size_t window_lower_bound(const glz_window *w, uint64_t id) {
    if (w->count && id >= w->imgs[0].id && id - w->imgs[0].id < w->count) {
        size_t guess = (size_t)(id - w->imgs[0].id); /* ids are usually consecutive */
        if (w->imgs[guess].id == id && (guess == 0 || w->imgs[guess - 1].id < id)) return guess;
    }
    size_t lo = 0, hi = w->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->imgs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Takes ownership of pix. Returns 0, or SC_E_NOMEM (pix freed). */
static int window_commit(glz_window *w, const glz_header *h, uint64_t npix, uint8_t *pix, size_t pcap) {
    uint64_t oldest = h->id - h->win_head_dist;
    size_t k = window_lower_bound(w, oldest);
    if (k) window_drop_front(w, k);
    size_t pos = window_lower_bound(w, h->id);
    if (pos < w->count && w->imgs[pos].id == h->id) { /* a repeated id replaces the old image */
        w->total -= w->imgs[pos].npix;
        release(w, w->imgs[pos].pix, w->imgs[pos].cap);
        if (w->count > pos + 1) memmove(w->imgs + pos, w->imgs + pos + 1, (w->count - pos - 1) * sizeof(wimage));
        w->count--;
    }
    if (npix > w->max_pixels) { /* too big to keep: later references to it fail */
        release(w, pix, pcap);
        return SC_OK;
    }
    window_fit(w, npix);
    if (w->off + w->count == w->cap) { /* no room after the run */
        if (w->off && w->count <= w->cap / 2) {
            memmove(w->base, w->imgs, w->count * sizeof(wimage));
            w->off = 0;
        } else {
            size_t ncap = w->cap ? w->cap * 2 : 16;
            wimage *n = realloc(w->base, ncap * sizeof(wimage));
            if (!n) {
                release(w, pix, pcap);
                return SC_E_NOMEM;
            }
            w->base = n;
            w->cap = ncap;
        }
        w->imgs = w->base ? w->base + w->off : NULL;
    }
    pos = window_lower_bound(w, h->id);
    if (w->count > pos) memmove(w->imgs + pos + 1, w->imgs + pos, (w->count - pos) * sizeof(wimage));
    w->imgs[pos].id = h->id;
    w->imgs[pos].npix = npix;
    w->imgs[pos].type = h->type;
    w->imgs[pos].pix = pix;
    w->imgs[pos].cap = pcap;
    w->count++;
    w->total += npix;
    return SC_OK;
}

/* ------------------------------------------------------------------ */
/* decoding */

typedef struct {
    const uint8_t *in0, *ip, *iend;
    uint8_t *out; /* stored pixels of the image being decoded */
    uint64_t npix;
    const glz_window *w;
    uint64_t id, oldest;
    uint32_t type;
    const wimage *cache;
    sc_error *err;
    int code;
} dctx;

enum { K_RGB = 0, K_RGB16 = 1, K_ALPHA = 2 };

static int fail(dctx *c, int code, const uint8_t *ip, uint64_t pixel, uint64_t detail) {
    c->code = code;
    return sc_fail(c->err, code, (int64_t)(ip - c->in0), (int64_t)pixel, detail);
}

/* Pixels of image (id - dist) from pixel ofs on, len pixels long, or NULL. */
static SC_NOINLINE const uint8_t *lookup_ref(dctx *c, uint64_t dist, uint64_t ofs, uint64_t len,
                                              const uint8_t *ip, uint64_t op) {
    if (dist > c->id) {
        fail(c, GLZ_E_IMAGE_DIST, ip, op, dist);
        return NULL;
    }
    uint64_t rid = c->id - dist;
    if (rid < c->oldest) {
        fail(c, GLZ_E_OUTSIDE_WINDOW, ip, op, rid);
        return NULL;
    }
    const wimage *im = c->cache;
    if (!im || im->id != rid) {
        size_t pos = window_lower_bound(c->w, rid);
        if (pos >= c->w->count || c->w->imgs[pos].id != rid) {
            fail(c, GLZ_E_MISSING_IMAGE, ip, op, rid);
            return NULL;
        }
        im = &c->w->imgs[pos];
        c->cache = im;
    }
    if (im->type != c->type) {
        fail(c, GLZ_E_TYPE_MISMATCH, ip, op, rid);
        return NULL;
    }
    if (ofs > im->npix || len > im->npix - ofs) {
        fail(c, GLZ_E_REF_RANGE, ip, op, ofs);
        return NULL;
    }
    return im->pix + ofs * glz_store_bpp(c->type);
}

/* Copies n 4-byte pixels from src to dst in 16-byte steps; valid when src is
 * at least 4 pixels before dst or the ranges do not overlap. May write up to
 * 12 bytes past the end (into the slack). */
SC_INLINE void copy4_fast(uint8_t *dst, const uint8_t *src, size_t n) {
    uint8_t *end = dst + n * 4;
    do {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + 8, &b, 8);
        dst += 16;
        src += 16;
    } while (dst < end);
}

/* The alpha pass writes byte 3 of 4-byte pixels: whole words are loaded,
 * merged and stored so that the loops have no byte-wide store-to-load chain
 * (a run repeating the previous pixel's alpha was a serial dependency, and
 * RGBA is what Xspice sends for the screen). */
#if SC_BIG_ENDIAN
#define GLZ_ALPHA_WORD(a) ((uint32_t)(a))
#else
#define GLZ_ALPHA_WORD(a) ((uint32_t)(a) << 24)
#endif

/* Sets byte 3 of n pixels to a. */
SC_INLINE void alpha_fill(uint8_t *o, uint8_t a, size_t n) {
    const uint32_t aw = GLZ_ALPHA_WORD(a);
    for (size_t i = 0; i < n; i++) sc_st32(o + 4 * i, (sc_ld32(o + 4 * i) & GLZ_RGB_MASK) | aw);
}

/* Copies byte 3 of n pixels from src to o, in order (src may be in o's run). */
SC_INLINE void alpha_copy(uint8_t *o, const uint8_t *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        sc_st32(o + 4 * i, (sc_ld32(o + 4 * i) & GLZ_RGB_MASK) | (sc_ld32(src + 4 * i) & ~GLZ_RGB_MASK));
}

SC_INLINE void copy2_fast(uint8_t *dst, const uint8_t *src, size_t n) {
    uint8_t *end = dst + n * 2;
    do {
        uint64_t a;
        memcpy(&a, src, 8);
        memcpy(dst, &a, 8);
        dst += 8;
        src += 8;
    } while (dst < end);
}

/* One pass over the stream: RGB (3 literal bytes -> 4-byte pixel), RGB16
 * (2 bytes -> 2-byte pixel) or the RGBA alpha pass (1 byte -> byte 3). */
SC_INLINE int decode_pass(dctx *c, const int kind) {
    const size_t ps = kind == K_RGB16 ? 2 : 4;
    const size_t lit = kind == K_RGB ? 3 : kind == K_RGB16 ? 2 : 1;
    const size_t bias = kind == K_RGB ? 0 : kind == K_RGB16 ? 1 : 2;
    const uint8_t *ip = c->ip;
    const uint8_t *const iend = c->iend;
    uint8_t *const out = c->out;
    const uint64_t n = c->npix;
    uint64_t op = 0;

    while (op < n) {
        if (SC_UNLIKELY(ip >= iend)) return fail(c, SC_E_TRUNCATED, ip, op, 0);
        const uint8_t *at = ip;
        uint32_t ctrl = *ip++;
        if (ctrl < GLZ_MAX_COPY) {
            uint64_t cnt = ctrl + 1;
            if (SC_UNLIKELY(cnt > n - op)) return fail(c, SC_E_OVERRUN, at, op, cnt);
            size_t avail = (size_t)(iend - ip);
            if (SC_UNLIKELY(avail < cnt * lit)) return fail(c, SC_E_TRUNCATED, at, op, cnt);
            uint8_t *o = out + op * ps;
            if (kind == K_RGB) {
                if (!SC_BIG_ENDIAN && avail > cnt * 3) {
                    for (uint64_t i = 0; i < cnt; i++) sc_st32(o + 4 * i, sc_ld32(ip + 3 * i) & GLZ_RGB_MASK);
                } else {
                    for (uint64_t i = 0; i < cnt; i++) {
                        o[4 * i] = ip[3 * i];
                        o[4 * i + 1] = ip[3 * i + 1];
                        o[4 * i + 2] = ip[3 * i + 2];
                        o[4 * i + 3] = 0;
                    }
                }
            } else if (kind == K_RGB16) {
                for (uint64_t i = 0; i < cnt; i++) {
                    o[2 * i] = ip[2 * i + 1];
                    o[2 * i + 1] = ip[2 * i];
                }
            } else {
                for (uint64_t i = 0; i < cnt; i++) o[4 * i + 3] = ip[i];
            }
            ip += cnt * lit;
            op += cnt;
            continue;
        }

        uint64_t len = ctrl >> 5;
        uint32_t long_ofs = (ctrl >> 4) & 1;
        uint64_t ofs = ctrl & 0x0F;
        if (len == 7) {
            uint32_t b;
            do {
                if (SC_UNLIKELY(ip >= iend)) return fail(c, SC_E_TRUNCATED, at, op, 0);
                b = *ip++;
                len += b;
                if (SC_UNLIKELY(len > n)) return fail(c, SC_E_OVERRUN, at, op, len);
            } while (b == 255);
        }
        if (SC_UNLIKELY(iend - ip < 2)) return fail(c, SC_E_TRUNCATED, at, op, 0);
        ofs += (uint64_t)ip[0] << 4;
        uint32_t code = ip[1];
        ip += 2;
        uint32_t nbytes = code >> 6;
        uint64_t dist = 0;
        if (!long_ofs) {
            if (SC_UNLIKELY((size_t)(iend - ip) < nbytes)) return fail(c, SC_E_TRUNCATED, at, op, 0);
            dist = code & 0x3F;
            for (uint32_t i = 0; i < nbytes; i++) dist += (uint64_t)ip[i] << (6 + 8 * i);
            ip += nbytes;
        } else {
            uint32_t very_long = (code >> 5) & 1;
            ofs += (uint64_t)(code & 0x1F) << 12;
            if (SC_UNLIKELY((size_t)(iend - ip) < nbytes + very_long))
                return fail(c, SC_E_TRUNCATED, at, op, 0);
            for (uint32_t i = 0; i < nbytes; i++) dist += (uint64_t)ip[i] << (8 * i);
            ip += nbytes;
            if (very_long) ofs += (uint64_t)(*ip++) << 17;
        }
        len += bias;
        if (SC_UNLIKELY(len > n - op)) return fail(c, SC_E_OVERRUN, at, op, len);
        uint8_t *o = out + op * ps;

        if (dist == 0) {
            ofs += 1; /* in-image distances are stored minus one */
            if (SC_UNLIKELY(ofs > op)) return fail(c, SC_E_REFERENCE, at, op, ofs);
            const uint8_t *src = o - ofs * ps;
            if (kind == K_ALPHA) {
                if (ofs == 1)
                    alpha_fill(o, src[3], len);
                else
                    alpha_copy(o, src, len);
            } else if (kind == K_RGB) {
                if (ofs == 1) {
                    uint32_t v = sc_ld32(src);
                    uint64_t vv = ((uint64_t)v << 32) | v;
                    uint8_t *e = o + len * 4;
                    do {
                        memcpy(o, &vv, 8);
                        memcpy(o + 8, &vv, 8);
                        o += 16;
                    } while (o < e);
                } else if (ofs >= 4) {
                    copy4_fast(o, src, len);
                } else {
                    for (uint64_t i = 0; i < len; i++) sc_st32(o + 4 * i, sc_ld32(src + 4 * i));
                }
            } else {
                if (ofs >= 4) {
                    copy2_fast(o, src, len);
                } else {
                    for (uint64_t i = 0; i < len; i++) sc_st16(o + 2 * i, sc_ld16(src + 2 * i));
                }
            }
        } else {
            const uint8_t *src = lookup_ref(c, dist, ofs, len, at, op);
            if (!src) return c->code;
            if (kind == K_ALPHA) {
                alpha_copy(o, src, len);
            } else if (kind == K_RGB) {
                copy4_fast(o, src, len);
            } else {
                copy2_fast(o, src, len);
            }
        }
        op += len;
    }
    c->ip = ip;
    return SC_OK;
}

static SC_NOINLINE int decode_rgb(dctx *c) { return decode_pass(c, K_RGB); }
static SC_NOINLINE int decode_rgb16(dctx *c) { return decode_pass(c, K_RGB16); }
static SC_NOINLINE int decode_alpha(dctx *c) { return decode_pass(c, K_ALPHA); }

/* ------------------------------------------------------------------ */
/* stored pixels -> caller's buffer */

static void emit_rows(const glz_header *h, const uint8_t *st, uint8_t *out, size_t out_stride, int fmt) {
    const size_t w = h->width;
    for (uint32_t r = 0; r < h->height; r++) {
        uint32_t dr = h->top_down ? r : h->height - 1 - r;
        uint8_t *d = out + (size_t)dr * out_stride;
        if (h->type == T_RGB16) {
            const uint8_t *s = st + (size_t)r * w * 2;
            if (fmt == GLZ_FMT_X1R5G5B5) {
                memcpy(d, s, w * 2);
            } else {
                for (size_t x = 0; x < w; x++) {
                    uint32_t v = (uint32_t)s[2 * x] | ((uint32_t)s[2 * x + 1] << 8);
                    uint32_t r5 = (v >> 10) & 31, g5 = (v >> 5) & 31, b5 = v & 31;
                    d[4 * x] = (uint8_t)((b5 << 3) | (b5 >> 2));
                    d[4 * x + 1] = (uint8_t)((g5 << 3) | (g5 >> 2));
                    d[4 * x + 2] = (uint8_t)((r5 << 3) | (r5 >> 2));
                    d[4 * x + 3] = 0;
                }
            }
        } else {
            const uint8_t *s = st + (size_t)r * w * 4;
            if (h->type == T_RGBA && fmt == GLZ_FMT_BGRX32) {
                for (size_t x = 0; x < w; x++) sc_st32(d + 4 * x, sc_ld32(s + 4 * x) & GLZ_RGB_MASK);
            } else {
                memcpy(d, s, w * 4);
            }
        }
    }
}

/* Most pixels one stream byte can stand for.  A literal run of n pixels takes
 * 1 + n bytes at least.  A match takes a control byte, k >= 0 length bytes and
 * two offset bytes, and copies at most 7 + 255 * k + bias (<= 2) pixels:
 * <= 255 per token byte.  (RGBA's alpha pass covers the same pixels again.) */
#define GLZ_MAX_PIXELS_PER_BYTE 255u

uint64_t glz_pixel_bound(size_t in_len) {
    if (in_len <= GLZ_HEADER_SIZE) return 0;
    return (uint64_t)(in_len - GLZ_HEADER_SIZE) * GLZ_MAX_PIXELS_PER_BYTE;
}

static int format_ok(uint32_t type, int fmt) {
    switch (type) {
    case T_RGB16:
        return fmt == GLZ_FMT_BGRX32 || fmt == GLZ_FMT_X1R5G5B5;
    case T_RGB24:
    case T_RGB32:
        return fmt == GLZ_FMT_BGRX32;
    case T_RGBA:
        return fmt == GLZ_FMT_BGRA32 || fmt == GLZ_FMT_BGRX32;
    default:
        return 0;
    }
}

static int is_stored_format(const glz_header *h, int fmt) {
    if (!h->top_down) return 0;
    if (h->type == T_RGB16) return fmt == GLZ_FMT_X1R5G5B5;
    if (h->type == T_RGBA) return fmt == GLZ_FMT_BGRA32;
    return fmt == GLZ_FMT_BGRX32;
}

/* glz_decode after its header is parsed (and checked) into h. */
static int decode_parsed(glz_window *w, const glz_header *hp, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t out_len, size_t out_stride, int fmt, uint64_t max_image_pixels, sc_error *err,
                         uint8_t **pinned) {
    const glz_header h = *hp;
    int rc;
    uint64_t npix = (uint64_t)h.width * h.height;
    if (npix > max_image_pixels || npix > ((uint64_t)1 << 40)) return sc_fail(err, SC_E_TOO_LARGE, 9, -1, npix);
    if (npix > glz_pixel_bound(in_len)) return sc_fail(err, SC_E_IMPLAUSIBLE, 9, -1, npix);
    if (!format_ok(h.type, fmt)) return sc_fail(err, SC_E_FORMAT, -1, -1, (uint64_t)fmt);
    size_t obpp = fmt == GLZ_FMT_X1R5G5B5 ? 2 : 4;
    size_t row = (size_t)h.width * obpp;
    if (pinned) *pinned = NULL;
    if (out) {
        if (out_stride < row || out_len < row || (out_len - row) / out_stride < h.height - 1)
            return sc_fail(err, SC_E_BUFFER, -1, -1, out_len);
    } else if (!pinned || !is_stored_format(&h, fmt)) {
        return sc_fail(err, SC_E_ARG, -1, -1, 0);
    }

    size_t bytes = (size_t)npix * glz_store_bpp(h.type);
    size_t pcap;
    uint8_t *base = glz_pool_get(&w->pool, BUF_HDR + bytes + GLZ_SLACK, &pcap);
    if (!base) return sc_fail(err, SC_E_NOMEM, -1, -1, bytes);
    uint8_t *pix = base + BUF_HDR;
    ((bufhdr *)(void *)base)->refs = 1;
    memset(pix + bytes, 0, GLZ_SLACK);

    dctx c;
    memset(&c, 0, sizeof(c));
    c.in0 = in;
    c.ip = in + GLZ_HEADER_SIZE;
    c.iend = in + in_len;
    c.out = pix;
    c.npix = npix;
    c.w = w;
    c.id = h.id;
    c.oldest = h.id - h.win_head_dist;
    c.type = h.type;
    c.err = err;

    if (h.type == T_RGB16) {
        rc = decode_rgb16(&c);
    } else {
        rc = decode_rgb(&c);
        if (!rc && h.type == T_RGBA) rc = decode_alpha(&c);
    }
    if (!rc && c.ip != c.iend) rc = fail(&c, SC_E_TRAILING, c.ip, npix, (uint64_t)(c.iend - c.ip));
    if (rc) {
        glz_pool_put(&w->pool, base, pcap);
        return rc;
    }
    if (out) emit_rows(&h, pix, out, out_stride, fmt);
    if (pinned) {
        REF_INC(hdr_of(pix));
        *pinned = pix;
    }
    return window_commit(w, &h, npix, pix, pcap);
}

int glz_decode(glz_window *w, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
               size_t out_stride, int fmt, uint64_t max_image_pixels, sc_error *err,
               uint8_t **pinned) {
    glz_header h;
    int rc = glz_read_header(in, in_len, &h, err);
    if (rc) return rc;
    return decode_parsed(w, &h, in, in_len, out, out_len, out_stride, fmt, max_image_pixels, err, pinned);
}

int glz_decode_at(glz_window *w, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                  size_t out_stride, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                  uint32_t fmts, uint64_t max_image_pixels, sc_error *err, glz_header *hdr) {
    int rc = glz_read_header(in, in_len, hdr, err);
    if (rc) return rc;
    int fmt = (int)((fmts >> (4 * (hdr->type - T_RGB16))) & 0xF);
    if (hdr->width != width || hdr->height != height || fmt == GLZ_FMT_NONE) return GLZ_SKIPPED;
    /* the rectangle lies inside out, each of its rows inside one stride */
    const uint64_t obpp = fmt == GLZ_FMT_X1R5G5B5 ? 2 : 4;
    if (out_stride == 0 || ((uint64_t)x + width) * obpp > out_stride || y > out_len / out_stride)
        return sc_fail(err, SC_E_BUFFER, -1, -1, out_len);
    uint64_t start = (uint64_t)y * out_stride + (uint64_t)x * obpp;
    if (start >= out_len) return sc_fail(err, SC_E_BUFFER, -1, -1, out_len);
    return decode_parsed(w, hdr, in, in_len, out + start, out_len - start, out_stride, fmt, max_image_pixels,
                         err, NULL);
}
