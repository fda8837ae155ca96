/* QUIC encoder: the mirror image of quic_decode.c.
 *
 * Bits are gathered most significant first into 32-bit words stored
 * little-endian.  The output buffer grows between rows so that one row's
 * worst case always fits, which keeps capacity checks out of pixel loops.
 */
#include <stdlib.h>

#include "quic_internal.h"

/* Worst-case bits per pixel: 4 channels of 26-bit codes plus two run codes. */
#define MAX_ROW_BYTES(w) (18 * (size_t)(w) + 32)

typedef struct {
    uint8_t *out;
    size_t cap;  /* bytes allocated */
    size_t len;  /* bytes of finished words */
    uint64_t acc; /* pending bits in the low `n` bits */
    unsigned n;   /* pending bit count, < 32 */
} Writer;

/* Append len bits (len <= 32).  The word at the write position is stored
 * every time, complete or not, and only kept once it is complete; this
 * avoids a hard-to-predict branch and needs 4 bytes of slack. */
SC_INLINE void wr_put(Writer *w, uint32_t v, unsigned len)
{
    w->acc = (w->acc << len) | v;
    unsigned n = w->n + len;
    unsigned full = n >> 5;
    n -= full << 5;
    sc_store_le32(w->out + w->len, (uint32_t)(w->acc >> n));
    w->len += (size_t)full << 2;
    w->n = n;
}

static int wr_reserve(Writer *w, size_t need)
{
    if (w->cap - w->len >= need) return 0;
    size_t cap = w->cap * 2;
    if (cap < w->len + need) cap = w->len + need;
    uint8_t *p = realloc(w->out, cap);
    if (!p) return SC_E_NOMEM;
    w->out = p;
    w->cap = cap;
    return 0;
}

SC_INLINE void wr_golomb(Writer *w, const Family *f, unsigned v, unsigned k)
{
    wr_put(w, f->code[v][k], f->len[v][k]);
}

static void wr_ones(Writer *w, uint32_t count)
{
    for (; count >= 16; count -= 16) wr_put(w, 0xffff, 16);
    if (count) wr_put(w, (1u << count) - 1, count);
}

/* Inverse of rd_run in quic_decode.c. */
static void wr_run(Writer *w, State *s, uint32_t run)
{
    unsigned state = s->runstate;
    uint32_t hits = 0;
    while (state < 31 && run >= (1u << quic_run_order[state])) {
        run -= 1u << quic_run_order[state];
        hits++;
        state++;
    }
    if (state == 31) { /* blocks of the largest size */
        hits += run >> quic_run_order[31];
        run &= (1u << quic_run_order[31]) - 1;
    }
    wr_ones(w, hits);
    wr_put(w, run, quic_run_order[state] + 1u);
    if (state) state--;
    s->runstate = state;
}

typedef struct {
    Writer wr;
    State st[2];
    Model model[4];
    uint8_t *res1;  /* residuals of the gray or alpha channel; [-1] valid */
    uint32_t *res3; /* residuals of r, g, b per pixel, packed like pixels; [-1] valid */
    uint32_t res3_mem[]; /* storage of res3: res3_mem[i + 1] is pixel i */
} Encoder;

/* Per-byte floor((a + b) / 2) of the three channel bytes. */
SC_INLINE uint32_t swar_avg(uint32_t a, uint32_t b)
{
    return (a & b) + (((a ^ b) & 0xfefefeu) >> 1);
}

/* Per-byte residuals of three channels: zigzag((a - b) mod 2^bpc), see Family.zigzag. */
SC_INLINE uint32_t swar_residual(uint32_t a, uint32_t b, unsigned bpc)
{
    if (bpc == 5) {
        uint32_t d = ((a | 0x202020u) - b) & 0x1f1f1fu;
        return ((d << 1) & 0x1e1e1eu) ^ (((d >> 4) & 0x010101u) * 0x1fu);
    }
    uint32_t d = ((a | 0x808080u) - (b & 0x7f7f7fu)) ^ ((a ^ ~b) & 0x808080u);
    return ((d << 1) & 0xfefefeu) ^ (((d >> 7) & 0x010101u) * 0xffu);
}

/* Three colour channels in a u32 (b | g << 8 | r << 16); the top byte is ignored. */
SC_INLINE void rgb_seg(Encoder *e, const uint8_t *cur, const uint8_t *prev, uint32_t i, const uint32_t end,
                      const uint32_t waitmask, const int first_row, const unsigned bpc)
{
    const Family *f = bpc == 8 ? &quic_tab.f8 : &quic_tab.f5;
    State *st = &e->st[0];
    Writer wr = e->wr;
    uint32_t next = i + st->waitcnt;
    uint32_t run_at = 0;
    uint32_t ctx = e->res3_mem[i]; /* residuals of pixel i - 1, packed like a pixel */
    uint32_t left = i >= 1 ? sc_load_le32(cur + 4 * (size_t)(i - 1)) & 0xffffffu : 0;

    while (i < end) {
        uint32_t up = first_row ? 0 : sc_load_le32(prev + 4 * (size_t)i) & 0xffffffu;
        if (!first_row && SC_UNLIKELY(i > 2 && ((sc_load_le32(prev + 4 * (size_t)i - 4) ^ up) & 0xffffff) == 0) &&
            ((sc_load_le32(cur + 4 * (size_t)i - 8) ^ left) & 0xffffff) == 0 && i != run_at) {
            uint32_t n = 0;
            while (i + n < end && ((sc_load_le32(cur + 4 * (size_t)(i + n)) ^ left) & 0xffffff) == 0) n++;
            Writer tmp = wr; /* keeps wr itself in registers */
            wr_run(&tmp, st, n);
            wr = tmp;
            run_at = i;
            if (n) {
                i += n;
                next += n;
                ctx = e->res3_mem[i];
            }
            continue;
        }
        uint32_t px = sc_load_le32(cur + 4 * (size_t)i) & 0xffffffu;
        uint32_t pred = first_row ? left : i == 0 ? up : swar_avg(left, up);
        uint32_t v = swar_residual(px, pred, bpc);
        unsigned vr = v >> 16, vg = (v >> 8) & 0xff, vb = v & 0xff;
        wr_golomb(&wr, f, vr, e->model[0].k_of[ctx >> 16]);
        wr_golomb(&wr, f, vg, e->model[1].k_of[(ctx >> 8) & 0xff]);
        wr_golomb(&wr, f, vb, e->model[2].k_of[ctx & 0xff]);
        e->res3_mem[i + 1] = v;
        if (SC_UNLIKELY(i == next)) {
            model_update(&e->model[0], bpc, ctx >> 16, vr, st->trigger);
            model_update(&e->model[1], bpc, (ctx >> 8) & 0xff, vg, st->trigger);
            model_update(&e->model[2], bpc, ctx & 0xff, vb, st->trigger);
            next = i + 1 + (state_rand(st) & waitmask);
        }
        ctx = v;
        left = px;
        i++;
    }
    st->waitcnt = next - end;
    e->wr = wr;
}

/* One byte channel (gray, or the alpha byte of BGRA) with a pixel step. */
SC_INLINE void plane_seg(Encoder *e, const uint8_t *cur, const uint8_t *prev, uint32_t i, const uint32_t end,
                        const uint32_t waitmask, const int first_row, const size_t step, const int ch)
{
    const Family *f = &quic_tab.f8;
    State *st = &e->st[ch == 3 ? 1 : 0];
    Model *m = &e->model[ch];
    uint8_t *res = e->res1;
    Writer wr = e->wr;
    uint32_t next = i + st->waitcnt;
    uint32_t run_at = 0;
    unsigned x = res[(ptrdiff_t)i - 1];
    unsigned left = i >= 1 ? cur[step * (i - 1)] : 0;
    unsigned left2 = i >= 2 ? cur[step * (i - 2)] : 0;
    unsigned upleft = (!first_row && i >= 1) ? prev[step * (i - 1)] : 0;

    while (i < end) {
        unsigned up = 0, p;
        if (first_row) {
            p = left;
        } else {
            up = prev[step * i];
            if (SC_UNLIKELY(upleft == up) && i > 2 && i != run_at && left == left2) {
                uint32_t n = 0;
                while (i + n < end && cur[step * (i + n)] == left) n++;
                Writer tmp = wr; /* keeps wr itself in registers */
                wr_run(&tmp, st, n);
                wr = tmp;
                run_at = i;
                if (n) {
                    i += n;
                    next += n;
                    left2 = left;
                    x = res[i - 1];
                    upleft = prev[step * (i - 1)];
                }
                continue;
            }
            p = i == 0 ? up : (left + up) >> 1;
        }
        unsigned px = cur[step * i];
        unsigned v = f->zigzag[(px - p) & 0xff];
        wr_golomb(&wr, f, v, m->k_of[x]);
        res[i] = (uint8_t)v;
        if (SC_UNLIKELY(i == next)) {
            model_update(m, 8, x, v, st->trigger);
            next = i + 1 + (state_rand(st) & waitmask);
        }
        x = v;
        left2 = left;
        left = px;
        upleft = up;
        i++;
    }
    st->waitcnt = next - end;
    e->wr = wr;
}

typedef void (*SegFn)(Encoder *, const uint8_t *, const uint8_t *, uint32_t, uint32_t, uint32_t);

#define RGB_SEG(name, first, bpc)                                                                  \
    Q_CLONES static void name(Encoder *e, const uint8_t *cur, const uint8_t *prev, uint32_t i, uint32_t end, \
                     uint32_t wm)                                                                  \
    {                                                                                              \
        rgb_seg(e, cur, prev, i, end, wm, first, bpc);                                             \
    }
#define PLANE_SEG(name, first, step, ch)                                                           \
    Q_CLONES static void name(Encoder *e, const uint8_t *cur, const uint8_t *prev, uint32_t i, uint32_t end, \
                     uint32_t wm)                                                                  \
    {                                                                                              \
        plane_seg(e, cur, prev, i, end, wm, first, step, ch);                                      \
    }

RGB_SEG(enc_rgb8_first, 1, 8)
RGB_SEG(enc_rgb8, 0, 8)
RGB_SEG(enc_rgb5_first, 1, 5)
RGB_SEG(enc_rgb5, 0, 5)
PLANE_SEG(enc_gray_first, 1, 1, 0)
PLANE_SEG(enc_gray, 0, 1, 0)
PLANE_SEG(enc_alpha_first, 1, 4, 3)
PLANE_SEG(enc_alpha, 0, 4, 3)

static void code_row(Encoder *e, State *st, SegFn seg, const uint8_t *cur, const uint8_t *prev, uint32_t width)
{
    uint32_t pos = 0;
    while (st->wmidx < WM_MAX && st->wmileft <= width - pos) {
        seg(e, cur, prev, pos, pos + st->wmileft, (1u << st->wmidx) - 1);
        pos += st->wmileft;
        st->wmidx++;
        st->trigger = quic_trigger_table[st->wmidx];
        st->wmileft = WM_STEP;
    }
    if (pos < width) {
        seg(e, cur, prev, pos, width, (1u << st->wmidx) - 1);
        if (st->wmidx < WM_MAX) st->wmileft -= width - pos;
    }
}

static void start_rgb_row(Encoder *e, int first_row)
{
    e->res3[-1] = first_row ? 0 : e->res3[0];
}

static void start_plane_row(Encoder *e, int first_row)
{
    e->res1[-1] = first_row ? 0 : e->res1[0];
}

/* Source rows that are not already b | g << 8 | r << 16 words. */
static void row_from_rgb24(uint8_t *dst, const uint8_t *src, uint32_t width)
{
    for (uint32_t i = 0; i < width; i++) {
        const uint8_t *s = src + 3 * (size_t)i;
        sc_store_le32(dst + 4 * (size_t)i, (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16);
    }
}

static void row_from_rgb16(uint8_t *dst, const uint8_t *src, uint32_t width)
{
    for (uint32_t i = 0; i < width; i++) {
        uint32_t v = (uint32_t)src[2 * (size_t)i] | (uint32_t)src[2 * (size_t)i + 1] << 8;
        sc_store_le32(dst + 4 * (size_t)i, (v & 0x1f) | ((v >> 5) & 0x1f) << 8 | ((v >> 10) & 0x1f) << 16);
    }
}

static size_t type_bytes(int type)
{
    switch (type) {
    case IT_GRAY:
        return 1;
    case IT_RGB16:
        return 2;
    case IT_RGB24:
        return 3;
    case IT_RGB32:
    case IT_RGBA:
        return 4;
    default:
        return 0;
    }
}

int spice_quic_encode(const uint8_t *src, size_t src_len, int64_t stride, int image_type, uint32_t width,
                      uint32_t height, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    const size_t bpp = type_bytes(image_type);
    if (!bpp) return SC_E_TYPE;
    if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu ||
        (uint64_t)width * height >= (1u << 29))
        return SC_E_SIZE;
    const uint64_t row_bytes = (uint64_t)width * bpp;
    const uint64_t astride = (uint64_t)(stride < 0 ? -(uint64_t)stride : (uint64_t)stride);
    if (stride == INT64_MIN || astride < row_bytes) return SC_E_STRIDE;
    /* the last row needs only row_bytes, not a whole stride */
    if (src_len < row_bytes || (uint64_t)(height - 1) > (src_len - row_bytes) / astride) return SC_E_BUFFER;

    const size_t n_res = (size_t)width + 2;
    const int convert = image_type != IT_GRAY;
    /* gray/alpha residual row, then two private 4-byte-per-pixel copies of source rows
     * (converted for RGB24/RGB16): the coder reads each pixel more than once, so it must
     * not read memory that may change meanwhile (a frame a server keeps drawing into) or
     * its stream would no longer decode */
    uint8_t *mem = malloc(n_res + (convert ? 8 * (size_t)width : 0));
    Encoder *e = malloc(sizeof(Encoder) + n_res * 4);
    if (!mem || !e) {
        free(mem);
        free(e);
        return SC_E_NOMEM;
    }
    memset(mem, 0, n_res);
    memset(e->res3_mem, 0, n_res * 4);
    e->res3 = e->res3_mem + 1;
    e->res1 = mem + 1;
    uint8_t *conv = mem + n_res;
    state_init(&e->st[0]);
    state_init(&e->st[1]);
    const unsigned bpc = image_type == IT_RGB16 ? 5 : 8;
    for (int c = 0; c < 4; c++) model_init(&e->model[c], bpc);

    e->wr.cap = (size_t)((uint64_t)width * height * bpp / 2) + MAX_ROW_BYTES(width) + 64;
    e->wr.out = malloc(e->wr.cap);
    e->wr.len = 0;
    e->wr.acc = 0;
    e->wr.n = 0;
    if (!e->wr.out) {
        free(mem);
        free(e);
        return SC_E_NOMEM;
    }
    const uint32_t header[5] = {QUIC_MAGIC, 0, (uint32_t)image_type, width, height};
    for (int k = 0; k < 5; k++) sc_store_le32(e->wr.out + 4 * k, header[k]);
    e->wr.len = QUIC_HEADER_BYTES;

    int rc = 0;
    const uint8_t *prev = NULL;
    for (uint32_t y = 0; y < height && !rc; y++) {
        const uint8_t *row = src + (stride > 0 ? (size_t)y : (size_t)(height - 1 - y)) * astride;
        const int first = y == 0;
        rc = wr_reserve(&e->wr, MAX_ROW_BYTES(width));
        if (rc) break;
        switch (image_type) {
        case IT_GRAY:
            start_plane_row(e, first);
            code_row(e, &e->st[0], first ? enc_gray_first : enc_gray, row, prev, width);
            prev = row;
            break;
        case IT_RGB16:
        case IT_RGB24: {
            uint8_t *cur = conv + (y & 1) * 4 * (size_t)width;
            if (image_type == IT_RGB16)
                row_from_rgb16(cur, row, width);
            else
                row_from_rgb24(cur, row, width);
            start_rgb_row(e, first);
            if (image_type == IT_RGB16)
                code_row(e, &e->st[0], first ? enc_rgb5_first : enc_rgb5, cur, prev, width);
            else
                code_row(e, &e->st[0], first ? enc_rgb8_first : enc_rgb8, cur, prev, width);
            prev = cur;
            break;
        }
        default: { /* RGB32, RGBA */
            uint8_t *cur = conv + (y & 1) * 4 * (size_t)width;
            memcpy(cur, row, 4 * (size_t)width);
            start_rgb_row(e, first);
            code_row(e, &e->st[0], first ? enc_rgb8_first : enc_rgb8, cur, prev, width);
            if (image_type == IT_RGBA) {
                start_plane_row(e, first);
                code_row(e, &e->st[1], first ? enc_alpha_first : enc_alpha, cur + 3,
                         prev ? prev + 3 : NULL, width);
            }
            prev = cur;
            break;
        }
        }
    }
    if (!rc) rc = wr_reserve(&e->wr, 16);
    if (!rc) {
        /* pad the last word with zeros, then one all-zero word */
        if (e->wr.n) wr_put(&e->wr, 0, 32 - e->wr.n);
        wr_put(&e->wr, 0, 16);
        wr_put(&e->wr, 0, 16);
        *out = e->wr.out;
        *out_len = e->wr.len;
    } else {
        free(e->wr.out);
    }
    free(mem);
    free(e);
    return rc;
}
