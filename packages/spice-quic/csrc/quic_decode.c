/* QUIC decoder.
 *
 * The coded words are little-endian u32s whose bits are read most
 * significant first.  The decoder first copies them into a big-endian byte
 * stream followed by zero padding, so the bit reader can fetch 64 bits with
 * one unaligned load and the pixel loops need no bounds checks: the padding
 * is longer than any row can consume, and the position is compared with the
 * stream length after every row.
 */
#include <stdlib.h>

#include "quic_internal.h"

/* ---- bit reader ------------------------------------------------------- */

/* Zero bytes after the stream: more than any one row can consume. */
static size_t pad_bytes(uint32_t width)
{
    /* Per row and pixel: four codewords of <= 26 bits; in each of the two
       passes (colour, alpha) at most two run codes per pixel, each costing
       at most its run length plus 16 bits; then one failing run code
       (<= width + 31 bits) and the 8-byte lookahead: < 172 bits = 21.5 bytes. */
    return 24 * (size_t)width + 64;
}

typedef struct {
    const uint8_t *p; /* next byte to load; the window ends p * 8 - cnt bits in */
    uint64_t buf;     /* window, next bit in the most significant place */
    unsigned cnt;     /* valid bits in buf */
} Reader;

/* Top up the window to at least 56 valid bits. */
SC_INLINE void rd_refill(Reader *r)
{
    r->buf |= sc_load_be64(r->p) >> r->cnt;
    r->p += (63 - r->cnt) >> 3;
    r->cnt |= 56;
}

SC_INLINE void rd_skip(Reader *r, unsigned n)
{
    r->buf <<= n;
    r->cnt -= n;
}

/* One Golomb codeword with parameter k (needs <= 26 valid bits). */
SC_INLINE unsigned rd_golomb(Reader *r, const Family *f, unsigned k)
{
    uint64_t b = r->buf;
    unsigned zeros = sc_clz64(b | 1);
    unsigned len, v;
    if (SC_LIKELY(zeros < f->gr_limit[k])) {
        /* zeros, a one, then k low bits */
        len = zeros + 1 + k;
        v = (zeros << k) + (unsigned)((b << zeros) >> (63 - k)) - (1u << k);
    } else {
        len = f->esc_len[k];
        v = f->esc_base[k] + (unsigned)(b >> (64 - len));
    }
    r->buf = b << len;
    r->cnt -= len;
    return v;
}

/* A run length: one '1' per completed block of 2^order pixels (the order
 * grows after each block), then '0' and `order` bits of remainder.
 * Fails when the run would pass `room` pixels. */
static int rd_run(Reader *r, State *s, uint32_t room, uint32_t *out)
{
    uint32_t run = 0;
    unsigned state = s->runstate;
    for (;;) {
        rd_refill(r);
        unsigned ones = sc_clz64(~r->buf | (1ull << 55)); /* 0..8 */
        for (unsigned h = 0; h < ones; h++) {
            run += 1u << quic_run_order[state];
            if (state < 31) state++;
        }
        if (ones < 8) {
            rd_skip(r, ones + 1);
            break;
        }
        rd_skip(r, 8);
        if (run > room) return SPICE_QUIC_E_RUN;
    }
    unsigned bits = quic_run_order[state];
    if (bits) {
        rd_refill(r);
        run += (uint32_t)(r->buf >> (64 - bits));
        rd_skip(r, bits);
    }
    if (state) state--;
    s->runstate = state;
    if (run > room) return SPICE_QUIC_E_RUN;
    *out = run;
    return 0;
}

/* Residual -> signed difference, the inverse of Family.zigzag (mod 2^bpc). */
SC_INLINE unsigned unzig(unsigned v)
{
    return (v >> 1) ^ (0u - (v & 1));
}

/* ---- decoder state ---------------------------------------------------- */

typedef struct {
    Reader rd;
    const uint8_t *stream; /* start of the big-endian stream */
    State st[2];           /* [0] colour (or gray) channels, [1] alpha */
    Model model[4];        /* r, g, b, a (gray uses model 0) */
    uint8_t *res1;         /* residuals of the gray or alpha channel; [-1] valid */
    uint32_t *res3;        /* residuals of r, g, b per pixel (r | g << 8 | b << 16); [-1] valid */
    uint32_t res3_mem[];   /* storage of res3: res3_mem[i + 1] is pixel i */
} Decoder;

SC_INLINE uint64_t consumed_bits(const Decoder *d)
{
    return (uint64_t)(d->rd.p - d->stream) * 8 - d->rd.cnt;
}

/* ---- three colour channels packed in a u32 (b | g << 8 | r << 16) ------ */

/* Per-byte floor((a + b) / 2) of the three channel bytes. */
SC_INLINE uint32_t swar_avg(uint32_t a, uint32_t b)
{
    return (a & b) + (((a ^ b) & 0xfefefeu) >> 1);
}

/* Per-byte (a + b) mod 2^bpc of the three channel bytes (inputs < 2^bpc). */
SC_INLINE uint32_t swar_add(uint32_t a, uint32_t b, unsigned bpc)
{
    if (bpc == 5) return (a + b) & 0x1f1f1fu;
    return ((a & 0x7f7f7fu) + (b & 0x7f7f7fu)) ^ ((a ^ b) & 0x808080u);
}

/* Per-byte unzig of three packed residuals (see unzig). */
SC_INLINE uint32_t swar_unzig(uint32_t v, unsigned bpc)
{
    const uint32_t low = bpc == 5 ? 0x0f0f0fu : 0x7f7f7fu;
    return ((v >> 1) & low) ^ ((v & 0x010101u) * (bpc == 5 ? 0x1fu : 0xffu));
}

SC_INLINE int rgb_seg(Decoder *d, uint8_t *cur, const uint8_t *prev, uint32_t i, const uint32_t end,
                     const uint32_t waitmask, const int first_row, const unsigned bpc)
{
    const Family *f = bpc == 8 ? &quic_tab.f8 : &quic_tab.f5;
    const unsigned mask = (1u << bpc) - 1;
    State *st = &d->st[0];
    Reader rd = d->rd;
    uint32_t next = i + st->waitcnt; /* pixel whose residuals update the model */
    uint32_t run_at = 0;             /* where the last run started (0: none) */
    uint32_t ctx = d->res3_mem[i];   /* residuals of pixel i - 1, packed like a pixel */
    uint32_t left = i >= 1 ? sc_load_le32(cur + 4 * (size_t)(i - 1)) : 0;

    while (i < end) {
        uint32_t up = first_row ? 0 : sc_load_le32(prev + 4 * (size_t)i);
        if (!first_row && SC_UNLIKELY(i > 2 && ((sc_load_le32(prev + 4 * (size_t)i - 4) ^ up) & 0xffffff) == 0) &&
            ((sc_load_le32(cur + 4 * (size_t)i - 8) ^ left) & 0xffffff) == 0 && i != run_at) {
            uint32_t n;
            Reader tmp = rd; /* keeps rd itself in registers */
            int rc = rd_run(&tmp, st, end - i, &n);
            rd = tmp;
            if (rc) {
                d->rd = rd;
                return rc;
            }
            run_at = i;
            if (n) {
                for (uint32_t j = 0; j < n; j++) sc_store_le32(cur + 4 * (size_t)(i + j), left);
                i += n;
                next += n;
                ctx = d->res3_mem[i];
            }
            continue;
        }
        rd_refill(&rd);
        unsigned vr = rd_golomb(&rd, f, d->model[0].k_of[ctx >> 16]) & mask;
        unsigned vg = rd_golomb(&rd, f, d->model[1].k_of[(ctx >> 8) & 0xff]) & mask;
        if (SC_UNLIKELY(rd.cnt < 26)) rd_refill(&rd);
        unsigned vb = rd_golomb(&rd, f, d->model[2].k_of[ctx & 0xff]) & mask;
        uint32_t v = vr << 16 | vg << 8 | vb;
        d->res3_mem[i + 1] = v;
        uint32_t pred = first_row ? left : i == 0 ? up : swar_avg(left, up);
        uint32_t px = swar_add(pred & 0xffffffu, swar_unzig(v, bpc), bpc);
        sc_store_le32(cur + 4 * (size_t)i, px);
        if (SC_UNLIKELY(i == next)) {
            model_update(&d->model[0], bpc, ctx >> 16, vr, st->trigger);
            model_update(&d->model[1], bpc, (ctx >> 8) & 0xff, vg, st->trigger);
            model_update(&d->model[2], bpc, ctx & 0xff, vb, st->trigger);
            next = i + 1 + (state_rand(st) & waitmask);
        }
        ctx = v;
        left = px;
        i++;
    }
    st->waitcnt = next - end;
    d->rd = rd;
    return 0;
}

/* ---- one byte channel (gray, or the alpha byte of BGRA) ---------------- */

SC_INLINE int plane_seg(Decoder *d, uint8_t *cur, const uint8_t *prev, uint32_t i, const uint32_t end,
                       const uint32_t waitmask, const int first_row, const size_t step, const int ch)
{
    const Family *f = &quic_tab.f8;
    State *st = &d->st[ch == 3 ? 1 : 0];
    Model *m = &d->model[ch];
    uint8_t *res = d->res1;
    Reader rd = d->rd;
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
                uint32_t n;
                Reader tmp = rd; /* keeps rd itself in registers */
                int rc = rd_run(&tmp, st, end - i, &n);
                rd = tmp;
                if (rc) {
                    d->rd = rd;
                    return rc;
                }
                run_at = i;
                if (n) {
                    for (uint32_t j = 0; j < n; j++) cur[step * (i + j)] = (uint8_t)left;
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
        rd_refill(&rd);
        unsigned v = rd_golomb(&rd, f, m->k_of[x]) & 0xff;
        res[i] = (uint8_t)v;
        unsigned px = (unzig(v) + p) & 0xff;
        cur[step * i] = (uint8_t)px;
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
    d->rd = rd;
    return 0;
}

/* Specialised segment coders, one per (row kind, pixel kind). */
typedef int (*SegFn)(Decoder *, uint8_t *, const uint8_t *, uint32_t, uint32_t, uint32_t);

#define RGB_SEG(name, first, bpc)                                                                        \
    Q_CLONES static int name(Decoder *d, uint8_t *cur, const uint8_t *prev, uint32_t i, uint32_t end, uint32_t wm) \
    {                                                                                                    \
        return rgb_seg(d, cur, prev, i, end, wm, first, bpc);                                            \
    }
#define PLANE_SEG(name, first, step, ch)                                                                 \
    Q_CLONES static int name(Decoder *d, uint8_t *cur, const uint8_t *prev, uint32_t i, uint32_t end, uint32_t wm) \
    {                                                                                                    \
        return plane_seg(d, cur, prev, i, end, wm, first, step, ch);                                     \
    }

RGB_SEG(dec_rgb8_first, 1, 8)
RGB_SEG(dec_rgb8, 0, 8)
RGB_SEG(dec_rgb5_first, 1, 5)
RGB_SEG(dec_rgb5, 0, 5)
PLANE_SEG(dec_gray_first, 1, 1, 0)
PLANE_SEG(dec_gray, 0, 1, 0)
PLANE_SEG(dec_alpha_first, 1, 4, 3)
PLANE_SEG(dec_alpha, 0, 4, 3)

/* One row of one channel group: split where the sample spacing changes. */
static int code_row(Decoder *d, State *st, SegFn seg, uint8_t *cur, const uint8_t *prev, uint32_t width)
{
    uint32_t pos = 0;
    while (st->wmidx < WM_MAX && st->wmileft <= width - pos) {
        int rc = seg(d, cur, prev, pos, pos + st->wmileft, (1u << st->wmidx) - 1);
        if (rc) return rc;
        pos += st->wmileft;
        st->wmidx++;
        st->trigger = quic_trigger_table[st->wmidx];
        st->wmileft = WM_STEP;
    }
    if (pos < width) {
        int rc = seg(d, cur, prev, pos, width, (1u << st->wmidx) - 1);
        if (rc) return rc;
        if (st->wmidx < WM_MAX) st->wmileft -= width - pos;
    }
    return 0;
}

/* Each row's first residuals are coded in the context of the previous row's. */
static void start_rgb_row(Decoder *d, int first_row)
{
    d->res3[-1] = first_row ? 0 : d->res3[0];
}

static void start_plane_row(Decoder *d, int first_row)
{
    d->res1[-1] = first_row ? 0 : d->res1[0];
}

/* ---- RGB16 output conversions ----------------------------------------- */

static void row_5to8(uint8_t *dst, const uint8_t *src, uint32_t width)
{
    for (uint32_t i = 0; i < width; i++) {
        uint32_t t = sc_load_le32(src + 4 * (size_t)i);
        sc_store_le32(dst + 4 * (size_t)i, (t << 3) | ((t >> 2) & 0x070707u));
    }
}

static void row_5to16(uint8_t *dst, const uint8_t *src, uint32_t width)
{
    for (uint32_t i = 0; i < width; i++) {
        uint32_t t = sc_load_le32(src + 4 * (size_t)i);
        uint32_t v = ((t >> 16) & 0x1f) << 10 | ((t >> 8) & 0x1f) << 5 | (t & 0x1f);
        dst[2 * (size_t)i] = (uint8_t)v;
        dst[2 * (size_t)i + 1] = (uint8_t)(v >> 8);
    }
}

/* ---- entry points ----------------------------------------------------- */

int spice_quic_read_header(const uint8_t *blob, size_t blob_len, uint32_t *out, sc_error *err)
{
    sc_clear(err);
    if (blob_len < QUIC_HEADER_BYTES) return sc_fail(err, SC_E_SHORT_HEADER, 0, -1, blob_len);
    if (sc_load_le32(blob) != QUIC_MAGIC) return sc_fail(err, SC_E_MAGIC, 0, -1, sc_load_le32(blob));
    if (sc_load_le32(blob + 4) != 0) return sc_fail(err, SC_E_VERSION, 4, -1, sc_load_le32(blob + 4));
    uint32_t type = sc_load_le32(blob + 8), w = sc_load_le32(blob + 12), h = sc_load_le32(blob + 16);
    out[0] = type;
    out[1] = w;
    out[2] = h;
    if (type < IT_GRAY || type > IT_RGBA) return sc_fail(err, SC_E_TYPE, 8, -1, type);
    if (w == 0 || w > 0x7fffffffu) return sc_fail(err, SC_E_SIZE, 12, -1, w);
    if (h == 0 || h > 0x7fffffffu) return sc_fail(err, SC_E_SIZE, 16, -1, h);
    return 0;
}

/* Upper bound on the pixels a stream of `bits` coded bits can hold, for an
 * image `width` pixels wide.  Every codeword is at least one bit long, and c
 * codewords code one pixel in full (GRAY 1, RGB16/RGB24/RGB32 3, RGBA 3 + 1
 * alpha).  The first row has no run codes: it costs c * width bits at least
 * (if that is more than bits, at most bits / c pixels decode).  Every later
 * row codes its first min(width, 3) pixels, and each pixel after a run; the
 * others come from run codes, where every bit (a '1' of the melcode, or a
 * remainder bit) adds at most 2^QUIC_MAX_RUN_ORDER pixels.  So a later row
 * costs r = c * min(width, 3) + ceil((width - min(width, 3)) / 2^15) bits at
 * least, and pixels <= width * (1 + (bits - c * width) / r).  A decoded
 * stream never consumes more than its own bits (checked after every row). */
uint64_t spice_quic_pixel_bound(size_t blob_len, uint32_t image_type, uint32_t width)
{
    if (blob_len <= QUIC_HEADER_BYTES || width == 0) return 0;
    const uint64_t bits = (uint64_t)(blob_len - QUIC_HEADER_BYTES) * 8;
    if (bits >> 40) return UINT64_MAX; /* beyond any image size; avoids overflow below */
    const uint64_t c = image_type == IT_GRAY ? 1 : image_type == IT_RGBA ? 4 : 3;
    const uint64_t first = c * width;
    if (first > bits) return bits / c;
    const uint64_t coded = width < 3 ? width : 3;
    const uint64_t run_px = (uint64_t)1 << QUIC_MAX_RUN_ORDER;
    const uint64_t row = c * coded + (width - coded + run_px - 1) / run_px;
    return width * (1 + (bits - first) / row);
}

static int format_bytes(uint32_t type, int format)
{
    switch (type) {
    case IT_GRAY:
        return format == SPICE_QUIC_FMT_GRAY8 ? 1 : 0;
    case IT_RGB16:
        return format == SPICE_QUIC_FMT_BGRX32 ? 4 : format == SPICE_QUIC_FMT_X1R5G5B5 ? 2 : 0;
    case IT_RGB24:
    case IT_RGB32:
        return format == SPICE_QUIC_FMT_BGRX32 ? 4 : 0;
    case IT_RGBA:
        return format == SPICE_QUIC_FMT_BGRA32 ? 4 : 0;
    default:
        return 0;
    }
}

static int decode_rows(Decoder *d, uint32_t type, int format, uint8_t *dst, int64_t stride, uint32_t w,
                       uint32_t h, uint8_t *scratch, uint64_t total_bits, int64_t *err_row)
{
    const size_t astride = (size_t)(stride < 0 ? -stride : stride);
    uint8_t *prev = NULL;
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *row = dst + (stride > 0 ? (size_t)y : (size_t)(h - 1 - y)) * astride;
        const int first = y == 0;
        int rc;
        *err_row = y;
        if (type == IT_GRAY) {
            start_plane_row(d, first);
            rc = code_row(d, &d->st[0], first ? dec_gray_first : dec_gray, row, prev, w);
            prev = row;
        } else if (type == IT_RGB16) {
            uint8_t *cur = scratch + (y & 1) * (size_t)w * 4;
            start_rgb_row(d, first);
            rc = code_row(d, &d->st[0], first ? dec_rgb5_first : dec_rgb5, cur, prev, w);
            if (format == SPICE_QUIC_FMT_BGRX32)
                row_5to8(row, cur, w);
            else
                row_5to16(row, cur, w);
            prev = cur;
        } else {
            start_rgb_row(d, first);
            rc = code_row(d, &d->st[0], first ? dec_rgb8_first : dec_rgb8, row, prev, w);
            if (!rc && type == IT_RGBA) {
                start_plane_row(d, first);
                rc = code_row(d, &d->st[1], first ? dec_alpha_first : dec_alpha, row + 3,
                              prev ? prev + 3 : NULL, w);
            }
            prev = row;
        }
        if (rc) return rc;
        if (consumed_bits(d) > total_bits) return SC_E_TRUNCATED;
    }
    /* A complete stream leaves at least one word of lookahead unread. */
    *err_row = -1;
    if (consumed_bits(d) + 32 > total_bits) return SC_E_TRUNCATED;
    return 0;
}

static int decode_checked(const uint8_t *blob, size_t blob_len, int format, uint8_t *dst, size_t dst_len,
                          int64_t stride, uint64_t max_pixels, const uint32_t *hdr, int64_t *err_row)
{
    const uint32_t type = hdr[0], w = hdr[1], h = hdr[2];
    if ((uint64_t)w * h > max_pixels) return SC_E_TOO_LARGE;
    if ((uint64_t)w * h > spice_quic_pixel_bound(blob_len, type, w)) return SC_E_IMPLAUSIBLE;
    const int bpp = format_bytes(type, format);
    if (!bpp) return SC_E_FORMAT;
    if (blob_len % 4) return SPICE_QUIC_E_ALIGN;

    const uint64_t row_bytes = (uint64_t)w * (unsigned)bpp;
    const uint64_t astride = (uint64_t)(stride < 0 ? -(uint64_t)stride : (uint64_t)stride);
    if (stride == INT64_MIN || astride < row_bytes) return SC_E_STRIDE;
    if (astride > dst_len || (uint64_t)(h - 1) > (dst_len - row_bytes) / astride) return SC_E_BUFFER;
    if (astride * (h - 1) + row_bytes > dst_len) return SC_E_BUFFER;

    const size_t data_len = blob_len - QUIC_HEADER_BYTES;
    const size_t pad = pad_bytes(w);
    const size_t n_res = (size_t)w + 2;
    const size_t scratch_len = type == IT_RGB16 ? 2 * (size_t)w * 4 : 0;
    if ((uint64_t)data_len + 64 * (uint64_t)w > SIZE_MAX / 2) return SC_E_NOMEM;
    /* one block: stream + padding, gray/alpha residual row, RGB16 row pair */
    uint8_t *mem = malloc(data_len + pad + n_res + scratch_len);
    Decoder *d = malloc(sizeof(Decoder) + n_res * 4);
    if (!mem || !d) {
        free(mem);
        free(d);
        return SC_E_NOMEM;
    }
    /* little-endian words -> big-endian byte stream */
    uint8_t *stream = mem;
    const uint8_t *words = blob + QUIC_HEADER_BYTES;
    for (size_t j = 0; j < data_len; j += 4) {
        stream[j] = words[j + 3];
        stream[j + 1] = words[j + 2];
        stream[j + 2] = words[j + 1];
        stream[j + 3] = words[j];
    }
    memset(stream + data_len, 0, pad + n_res);
    d->res1 = stream + data_len + pad + 1;
    uint8_t *scratch = d->res1 - 1 + n_res;
    memset(d->res3_mem, 0, n_res * 4);
    d->res3 = d->res3_mem + 1;

    d->stream = stream;
    d->rd.p = stream;
    d->rd.buf = 0;
    d->rd.cnt = 0;
    state_init(&d->st[0]);
    state_init(&d->st[1]);
    const unsigned bpc = type == IT_RGB16 ? 5 : 8;
    for (int c = 0; c < 4; c++) model_init(&d->model[c], bpc);

    int rc = decode_rows(d, type, format, dst, stride, w, h, scratch, (uint64_t)data_len * 8, err_row);
    free(d);
    free(mem);
    return rc;
}

int spice_quic_decode(const uint8_t *blob, size_t blob_len, int format, uint8_t *dst, size_t dst_len,
                      int64_t stride, uint64_t max_pixels, sc_error *err)
{
    uint32_t hdr[3];
    int rc = spice_quic_read_header(blob, blob_len, hdr, err);
    if (rc) return rc;
    int64_t row = -1;
    rc = decode_checked(blob, blob_len, format, dst, dst_len, stride, max_pixels, hdr, &row);
    if (rc) return sc_fail(err, rc, -1, row < 0 ? -1 : row * (int64_t)hdr[1], 0);
    return 0;
}
