/* GLZ encoder with its cross-image dictionary (the server side).
 *
 * Greedy LZ77 over pixels: a hash of the next three pixels finds one earlier
 * position (in this image or in an older image of the same type still inside
 * the window), runs of one repeated pixel are found directly. The dictionary
 * keeps a private copy of every image in stream row order.
 *
 * Each image occupies one dictionary "slot"; hash entries name a slot and a
 * pixel position. Slots freed by eviction are reused most recently freed
 * first, so a stale entry may point into a newer image; every candidate is
 * verified pixel by pixel, so that only costs a failed comparison.
 */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* posix_memalign, madvise */
#endif
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "glz_internal.h"

#define HASH_BITS 20
#define HASH_SIZE (1u << HASH_BITS)
#define MAX_PIXEL_DIST (1u << 25)
#define MAX_IMAGE_DIST ((1u << 24) - 1)
#define NO_IMAGE UINT64_MAX
#define PF_TABLE 12 /* prefetch distances, in pixels */
#define PF_REF 6

typedef struct {
    uint32_t slot;
    uint32_t pos;
} hentry;

typedef struct {
    uint64_t id;
    uint64_t npix;
    uint32_t type;
    uint32_t slot;
    uint8_t *pix;
    size_t cap;
} eimage;

struct glz_encoder {
    uint64_t window_pixels;
    uint64_t next_id;
    eimage *imgs; /* consecutive ids, oldest first */
    size_t count, cap;
    uint64_t total;
    uint64_t *slot_image; /* slot -> id of the image using it, or NO_IMAGE */
    uint32_t nslots, slots_cap;
    uint32_t *free_slots; /* stack */
    uint32_t nfree;
    hentry *htab;
    glz_pool pool;
    uint8_t *scratch; /* output buffer handed to Python */
    size_t scratch_cap;
};

static void encoder_drop_all(glz_encoder *e) {
    for (size_t i = 0; i < e->count; i++) glz_pool_put(&e->pool, e->imgs[i].pix, e->imgs[i].cap);
    e->count = 0;
    e->total = 0;
}

void glz_encoder_reset(glz_encoder *e) {
    encoder_drop_all(e);
    e->next_id = 0;
    e->nslots = 0;
    e->nfree = 0;
    memset(e->htab, 0, sizeof(hentry) * HASH_SIZE);
}

/* The 8 MiB hash table is read at random: on Linux, ask for huge pages so
 * that lookups do not also miss the TLB. */
static hentry *alloc_table(void) {
    size_t bytes = sizeof(hentry) * HASH_SIZE;
    void *p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (posix_memalign(&p, (size_t)2 << 20, bytes) != 0) p = NULL;
    if (p) madvise(p, bytes, MADV_HUGEPAGE);
#else
    p = malloc(bytes);
#endif
    if (p) memset(p, 0, bytes);
    return (hentry *)p;
}

glz_encoder *glz_encoder_new(uint64_t window_pixels) {
    glz_encoder *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->window_pixels = window_pixels;
    e->htab = alloc_table();
    if (!e->htab) {
        free(e);
        return NULL;
    }
    return e;
}

void glz_encoder_free(glz_encoder *e) {
    if (!e) return;
    encoder_drop_all(e);
    glz_pool_drain(&e->pool);
    free(e->scratch);
    free(e->imgs);
    free(e->slot_image);
    free(e->free_slots);
    free(e->htab);
    free(e);
}

uint64_t glz_encoder_next_id(const glz_encoder *e) { return e->next_id; }

uint8_t *glz_encoder_scratch(glz_encoder *e, size_t need) {
    if (e->scratch_cap < need) {
        free(e->scratch);
        e->scratch = malloc(need);
        e->scratch_cap = e->scratch ? need : 0;
    }
    return e->scratch;
}

size_t glz_encode_bound(uint32_t type, uint32_t width, uint32_t height) {
    uint64_t n = (uint64_t)width * height;
    /* literals plus one control byte per 32; matches never cost more than the
     * literals they replace plus the control byte of the next literal run */
    uint64_t per = type == T_RGB16 ? 2 : 3;
    uint64_t b = GLZ_HEADER_SIZE + n * per + n / 16 + 64;
    if (type == T_RGBA) b += n + n / 16 + 64;
    if (b > SIZE_MAX / 2) return 0;
    return (size_t)b;
}

static void evict_front(glz_encoder *e, size_t k) {
    if (k == 0) return;
    for (size_t i = 0; i < k; i++) {
        eimage *im = &e->imgs[i];
        e->slot_image[im->slot] = NO_IMAGE;
        e->free_slots[e->nfree++] = im->slot;
        e->total -= im->npix;
        glz_pool_put(&e->pool, im->pix, im->cap);
    }
    if (e->count > k) memmove(e->imgs, e->imgs + k, (e->count - k) * sizeof(eimage));
    e->count -= k;
}

static int alloc_slot(glz_encoder *e, uint32_t *slot) {
    if (e->nfree) {
        *slot = e->free_slots[--e->nfree];
        return 0;
    }
    if (e->nslots == e->slots_cap) {
        uint32_t ncap = e->slots_cap ? e->slots_cap * 2 : 64;
        uint64_t *si = realloc(e->slot_image, ncap * sizeof(uint64_t));
        if (!si) return SC_E_NOMEM;
        e->slot_image = si;
        uint32_t *fs = realloc(e->free_slots, ncap * sizeof(uint32_t));
        if (!fs) return SC_E_NOMEM;
        e->free_slots = fs;
        e->slots_cap = ncap;
    }
    *slot = e->nslots++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* output */

typedef struct {
    uint8_t *p, *end;
    uint8_t *ctrl; /* control byte of the open literal run */
} writer;

enum { K_RGB = 0, K_RGB16 = 1, K_ALPHA = 2 };

SC_INLINE uint32_t pkey(const uint8_t *p, const int kind) {
    if (kind == K_RGB) return sc_ld32(p) & GLZ_RGB_MASK;
    if (kind == K_RGB16) return sc_ld16(p) & 0x7FFFu;
    return p[3];
}

SC_INLINE uint32_t phash(const uint8_t *p, const int kind) {
    uint32_t h = 5381;
#define GLZ_DJB2(c) h = ((h << 5) + h) ^ (uint32_t)(c)
    if (kind == K_RGB) {
        for (int i = 0; i < 3; i++) {
            GLZ_DJB2(p[4 * i + 2]);
            GLZ_DJB2(p[4 * i + 1]);
            GLZ_DJB2(p[4 * i]);
        }
    } else if (kind == K_RGB16) {
        for (int i = 0; i < 3; i++) {
            GLZ_DJB2(p[2 * i]);
            GLZ_DJB2(p[2 * i + 1] & 0x7F);
        }
    } else {
        for (int i = 0; i < 3; i++) GLZ_DJB2(p[4 * i + 3]);
    }
#undef GLZ_DJB2
    return h & (HASH_SIZE - 1);
}

SC_INLINE void put_literal(writer *w, const uint8_t *p, const int kind) {
    if (kind == K_RGB) {
        w->p[0] = p[0];
        w->p[1] = p[1];
        w->p[2] = p[2];
        w->p += 3;
    } else if (kind == K_RGB16) {
        w->p[0] = p[1];
        w->p[1] = p[0];
        w->p += 2;
    } else {
        *w->p++ = p[3];
    }
}

/* Size in bytes of a match's encoding without its length extension. */
SC_INLINE unsigned ref_size(uint64_t image_dist, uint64_t pix) {
    unsigned s;
    if (pix < 4096) {
        s = image_dist < (1u << 6) ? 3 : image_dist < (1u << 14) ? 4 : image_dist < (1u << 22) ? 5 : 6;
    } else {
        s = image_dist == 0 ? 3 : image_dist < (1u << 8) ? 4 : image_dist < (1u << 16) ? 5 : 6;
        if (pix >= (1u << 17)) s++;
    }
    return s;
}

SC_INLINE void put_match(writer *w, uint64_t image_dist, uint64_t pix, uint64_t len) {
    uint8_t *o = w->p;
    uint32_t far = pix >= 4096 ? 16 : 0;
    if (len < 7) {
        *o++ = (uint8_t)((len << 5) + far + (pix & 0x0F));
    } else {
        *o++ = (uint8_t)((7 << 5) + far + (pix & 0x0F));
        for (len -= 7; len >= 255; len -= 255) *o++ = 255;
        *o++ = (uint8_t)len;
    }
    *o++ = (uint8_t)(pix >> 4);
    if (!far) {
        if (image_dist < (1u << 6)) {
            *o++ = (uint8_t)image_dist;
        } else if (image_dist < (1u << 14)) {
            *o++ = (uint8_t)(0x40 + (image_dist & 0x3F));
            *o++ = (uint8_t)(image_dist >> 6);
        } else if (image_dist < (1u << 22)) {
            *o++ = (uint8_t)(0x80 + (image_dist & 0x3F));
            *o++ = (uint8_t)(image_dist >> 6);
            *o++ = (uint8_t)(image_dist >> 14);
        } else {
            *o++ = (uint8_t)(0xC0 + (image_dist & 0x3F));
            *o++ = (uint8_t)(image_dist >> 6);
            *o++ = (uint8_t)(image_dist >> 14);
            *o++ = (uint8_t)(image_dist >> 22);
        }
    } else {
        uint32_t very = pix >= (1u << 17) ? 32 : 0;
        uint32_t hi = (uint32_t)(pix >> 12) & 0x1F;
        if (image_dist == 0) {
            *o++ = (uint8_t)(very + hi);
        } else if (image_dist < (1u << 8)) {
            *o++ = (uint8_t)(very + 0x40 + hi);
            *o++ = (uint8_t)image_dist;
        } else if (image_dist < (1u << 16)) {
            *o++ = (uint8_t)(very + 0x80 + hi);
            *o++ = (uint8_t)image_dist;
            *o++ = (uint8_t)(image_dist >> 8);
        } else {
            *o++ = (uint8_t)(very + 0xC0 + hi);
            *o++ = (uint8_t)image_dist;
            *o++ = (uint8_t)(image_dist >> 8);
            *o++ = (uint8_t)(image_dist >> 16);
        }
        if (very) *o++ = (uint8_t)(pix >> 17);
    }
    w->p = o;
}

SC_INLINE void open_run(writer *w) {
    w->ctrl = w->p;
    *w->p++ = GLZ_MAX_COPY - 1;
}

/* ------------------------------------------------------------------ */
/* one pass over one image */

typedef struct {
    glz_encoder *e;
    const eimage *cur;
    uint64_t first_id; /* oldest image id in the window */
} pctx;

/* Length of the match at pixel ip against (slot, pos), 0 if none worth it. */
SC_INLINE uint64_t find_match(const pctx *c, hentry ent, uint64_t ip, uint64_t bound, uint64_t *o_dist,
                               uint64_t *o_pix, const int kind) {
    const size_t ps = kind == K_RGB16 ? 2 : 4;
    const uint64_t min_len = kind == K_ALPHA ? 4 : 2;
    const uint64_t max_short = kind == K_ALPHA ? 7 : kind == K_RGB16 ? 3 : 2;
    const eimage *cur = c->cur;
    const eimage *ref;
    if (ent.slot == cur->slot) {
        ref = cur;
    } else {
        if (ent.slot >= c->e->nslots) return 0;
        uint64_t rid = c->e->slot_image[ent.slot];
        if (rid == NO_IMAGE || rid < c->first_id || rid >= cur->id) return 0;
        ref = &c->e->imgs[rid - c->first_id];
        if (ref->type != cur->type) return 0;
    }
    uint64_t rpos = ent.pos;
    if (ref->npix < min_len || rpos > ref->npix - min_len) return 0;
    const uint8_t *a = cur->pix + ip * ps;
    const uint8_t *b = ref->pix + rpos * ps;
    for (uint64_t i = 0; i < min_len; i++)
        if (pkey(a + i * ps, kind) != pkey(b + i * ps, kind)) return 0;
    uint64_t image_dist = cur->id - ref->id, pix;
    if (image_dist == 0) {
        if (rpos >= ip) return 0;
        pix = ip - rpos;
    } else {
        pix = rpos;
    }
    if (pix == 0 || pix >= MAX_PIXEL_DIST || image_dist > MAX_IMAGE_DIST) return 0;
    uint64_t ti = ip + min_len, tr = rpos + min_len;
    uint64_t rend = ref->npix;
    if (kind == K_RGB) {
        while (ti < bound && tr < rend && ((sc_ld32(cur->pix + ti * 4) ^ sc_ld32(ref->pix + tr * 4)) & GLZ_RGB_MASK) == 0) {
            ti++;
            tr++;
        }
    } else {
        while (ti < bound && tr < rend && pkey(cur->pix + ti * ps, kind) == pkey(ref->pix + tr * ps, kind)) {
            ti++;
            tr++;
        }
    }
    uint64_t len = ti - ip;
    *o_dist = image_dist;
    *o_pix = pix;
    if (len > max_short) return len;
    unsigned need = ref_size(image_dist, pix);
    need = (kind == K_RGB ? need / 3 : kind == K_RGB16 ? need / 2 : need) + 1;
    return len < need ? 0 : len;
}

/* Hashes of the last few positions, so the look-ahead does not recompute them. */
typedef struct {
    uint64_t pos[16];
    uint32_t val[16];
} hring;

SC_INLINE uint32_t hash_at(hring *r, const uint8_t *px, uint64_t q, const int kind) {
    unsigned i = (unsigned)q & 15;
    if (r->pos[i] == q) return r->val[i];
    uint32_t h = phash(px + q * (kind == K_RGB16 ? 2 : 4), kind);
    r->pos[i] = q;
    r->val[i] = h;
    return h;
}

SC_INLINE int compress_pass(pctx *c, writer *w, const int kind) {
    const size_t ps = kind == K_RGB16 ? 2 : 4;
    const uint64_t bias = kind == K_RGB ? 0 : kind == K_RGB16 ? 1 : 2;
    const eimage *cur = c->cur;
    const uint8_t *px = cur->pix;
    const uint64_t n = cur->npix;
    hentry *htab = c->e->htab;
    const uint32_t slot = cur->slot;

    if (n < 4) {
        if ((size_t)(w->end - w->p) < 1 + 3 * n) return SC_E_BUFFER;
        *w->p++ = (uint8_t)(n - 1);
        for (uint64_t i = 0; i < n; i++) put_literal(w, px + i * ps, kind);
        return SC_OK;
    }
    if ((size_t)(w->end - w->p) < 16) return SC_E_BUFFER;
    open_run(w);
    htab[phash(px, kind)] = (hentry){slot, 0};
    put_literal(w, px, kind);
    put_literal(w, px + ps, kind);
    uint64_t copy = 2;
    uint64_t ip = 2;
    hring ring;
    memset(ring.pos, 0xFF, sizeof(ring.pos));
    const uint64_t bound = n - 2;
    const uint64_t limit = n >= 6 ? n - 6 : 0;

    while (ip < limit) {
        /* worst case per step: a match (< 16 bytes + length run) or a literal */
        if (SC_UNLIKELY((size_t)(w->end - w->p) < 32)) return SC_E_BUFFER;
        const uint64_t anchor = ip;
        const uint8_t *p = px + ip * ps;
        uint64_t len = 0, image_dist = 0, pix = 0;
#if defined(__GNUC__) || defined(__clang__)
        /* The table and the pixels it points at are far apart in memory:
         * start loading them a few pixels ahead. */
        if (SC_LIKELY(ip + PF_TABLE + 2 < n)) {
            SC_PREFETCH(&htab[hash_at(&ring, px, ip + PF_TABLE, kind)]);
            {
                hentry ahead = htab[hash_at(&ring, px, ip + PF_REF, kind)];
                if (ahead.slot == slot && ahead.pos < n) SC_PREFETCH(px + (size_t)ahead.pos * ps);
            }
        }
#endif
        uint32_t k1 = pkey(p, kind);
        if (pkey(p - ps, kind) == k1 && pkey(p + ps, kind) == k1 && pkey(p + 2 * ps, kind) == k1) {
            ip += 3;
            len = 3;
            while (ip < bound) {
                if (pkey(px + ip * ps, kind) != k1) {
                    ip++;
                    break;
                }
                ip++;
                len++;
            }
            pix = 1;
            image_dist = 0;
        } else {
            uint32_t h = hash_at(&ring, px, ip, kind);
            hentry ent = htab[h];
            len = find_match(c, ent, ip, bound, &image_dist, &pix, kind);
            htab[h] = (hentry){slot, (uint32_t)anchor};
            if (!len) {
                put_literal(w, p, kind);
                ip = anchor + 1;
                if (++copy == GLZ_MAX_COPY) {
                    copy = 0;
                    open_run(w);
                }
                continue;
            }
        }
        /* a match (or run) of len pixels at anchor */
        if (image_dist == 0) pix--;
        if (copy)
            *w->ctrl = (uint8_t)(copy - 1);
        else
            w->p--; /* drop the unused control byte */
        copy = 0;
        if ((size_t)(w->end - w->p) < 16 + len / 255) return SC_E_BUFFER;
        put_match(w, image_dist, pix, len - bias);
        ip = anchor + len - 2;
        if (ip > anchor) htab[hash_at(&ring, px, ip, kind)] = (hentry){slot, (uint32_t)ip};
        ip++;
        if (ip > anchor) htab[hash_at(&ring, px, ip, kind)] = (hentry){slot, (uint32_t)ip};
        ip++;
        open_run(w);
    }
    if ((size_t)(w->end - w->p) < (n - ip) * 4 + 8) return SC_E_BUFFER;
    for (; ip < n; ip++) {
        put_literal(w, px + ip * ps, kind);
        if (++copy == GLZ_MAX_COPY) {
            copy = 0;
            open_run(w);
        }
    }
    if (copy)
        *w->ctrl = (uint8_t)(copy - 1);
    else
        w->p--;
    return SC_OK;
}

static SC_NOINLINE int compress_rgb(pctx *c, writer *w) { return compress_pass(c, w, K_RGB); }
static SC_NOINLINE int compress_rgb16(pctx *c, writer *w) { return compress_pass(c, w, K_RGB16); }
static SC_NOINLINE int compress_alpha(pctx *c, writer *w) { return compress_pass(c, w, K_ALPHA); }

/* ------------------------------------------------------------------ */

/* Copies the caller's rows into dictionary layout, stream row order. */
static void store_rows(uint8_t *dst, uint32_t type, const uint8_t *src, uint32_t width, uint32_t height,
                       size_t stride, int top_down) {
    for (uint32_t r = 0; r < height; r++) {
        const uint8_t *s = src + (size_t)(top_down ? r : height - 1 - r) * stride;
        if (type == T_RGB16) {
            memcpy(dst, s, (size_t)width * 2);
            dst += (size_t)width * 2;
        } else if (type == T_RGB24) {
            for (uint32_t x = 0; x < width; x++) {
                dst[0] = s[0];
                dst[1] = s[1];
                dst[2] = s[2];
                dst[3] = 0;
                dst += 4;
                s += 3;
            }
        } else if (type == T_RGB32) {
            for (uint32_t x = 0; x < width; x++) sc_st32(dst + 4 * x, sc_ld32(s + 4 * x) & GLZ_RGB_MASK);
            dst += (size_t)width * 4;
        } else {
            memcpy(dst, s, (size_t)width * 4);
            dst += (size_t)width * 4;
        }
    }
}

int64_t glz_encode(glz_encoder *e, uint32_t type, const uint8_t *pixels, size_t pixels_len, uint32_t width,
                   uint32_t height, size_t stride, int top_down, uint8_t *out, size_t out_cap) {
    if (type != T_RGB16 && type != T_RGB24 && type != T_RGB32 && type != T_RGBA) return -SC_E_TYPE;
    if (width == 0 || height == 0) return -SC_E_SIZE;
    uint64_t npix = (uint64_t)width * height;
    size_t in_bpp = type == T_RGB16 ? 2 : type == T_RGB24 ? 3 : 4;
    size_t row = (size_t)width * in_bpp;
    if ((uint64_t)row > UINT32_MAX) return -SC_E_SIZE;
    if (stride < row || pixels_len < row || (pixels_len - row) / stride < height - 1) return -SC_E_BUFFER;
    if (npix > e->window_pixels) return -GLZ_E_WINDOW;
    if (out_cap < GLZ_HEADER_SIZE) return -SC_E_BUFFER;

    size_t bytes = (size_t)npix * glz_store_bpp(type), pcap;
    uint8_t *pix = glz_pool_get(&e->pool, bytes + GLZ_SLACK, &pcap);
    if (!pix) return -SC_E_NOMEM;
    memset(pix + bytes, 0, GLZ_SLACK);
    store_rows(pix, type, pixels, width, height, stride, top_down);

    if (e->count == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        eimage *ni = realloc(e->imgs, ncap * sizeof(eimage));
        if (!ni) {
            glz_pool_put(&e->pool, pix, pcap);
            return -SC_E_NOMEM;
        }
        e->imgs = ni;
        e->cap = ncap;
    }

    /* Make room: the oldest images leave until the new one fits. */
    size_t k = 0;
    uint64_t total = e->total;
    while (k < e->count && total + npix > e->window_pixels) total -= e->imgs[k++].npix;
    if (k) evict_front(e, k);
    uint64_t head_dist = e->count ? e->next_id - e->imgs[0].id : 0;

    uint32_t slot;
    if (alloc_slot(e, &slot)) {
        glz_pool_put(&e->pool, pix, pcap);
        return -SC_E_NOMEM;
    }
    eimage *cur = &e->imgs[e->count];
    cur->id = e->next_id;
    cur->npix = npix;
    cur->type = type;
    cur->slot = slot;
    cur->pix = pix;
    cur->cap = pcap;
    e->slot_image[slot] = cur->id;
    e->count++;
    e->total += npix;
    e->next_id++;

    uint8_t *o = out;
    sc_store_be32(o, GLZ_MAGIC);
    sc_store_be32(o + 4, GLZ_VERSION);
    o[8] = (uint8_t)((type & 0x0F) | (top_down ? 0x10 : 0));
    sc_store_be32(o + 9, width);
    sc_store_be32(o + 13, height);
    sc_store_be32(o + 17, (uint32_t)row);
    sc_store_be32(o + 21, (uint32_t)(cur->id >> 32));
    sc_store_be32(o + 25, (uint32_t)cur->id);
    sc_store_be32(o + 29, (uint32_t)head_dist);

    writer w = {out + GLZ_HEADER_SIZE, out + out_cap, NULL};
    pctx c = {e, cur, e->imgs[0].id};
    int rc;
    if (type == T_RGB16) {
        rc = compress_rgb16(&c, &w);
    } else {
        rc = compress_rgb(&c, &w);
        if (!rc && type == T_RGBA) rc = compress_alpha(&c, &w);
    }
    if (rc) {
        /* Take the image back out so the next one reuses its id; hash
         * entries left pointing at its slot are verified before use. */
        e->count--;
        e->total -= npix;
        e->next_id--;
        e->slot_image[slot] = NO_IMAGE;
        e->free_slots[e->nfree++] = slot;
        glz_pool_put(&e->pool, pix, pcap);
        return -rc;
    }
    return (int64_t)(w.p - out);
}
