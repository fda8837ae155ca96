/* libFuzzer harness for the GLZ decoder (built by tools/fuzz.py).
 *
 * Each input is decoded as a GLZ blob against a fresh window, then decoded
 * again as the next image id so that cross-image references meet a real
 * window entry. Whatever decodes is re-encoded with a persistent encoder and
 * decoded with its paired window; the pixels must come back (bit 15 of RGB16
 * aside, which GLZ matches do not compare).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glz.h"

#define MAX_PIXELS (1u << 18)

static glz_encoder *rt_enc;
static glz_window *rt_win;

static void roundtrip(const glz_header *h, const uint8_t *pix, size_t stride) {
    if (h->type == 7) return; /* RGB24 decodes to 4-byte pixels; its input is 3 bytes */
    int fmt = h->type == 6 ? GLZ_FMT_X1R5G5B5 : h->type == 9 ? GLZ_FMT_BGRA32 : GLZ_FMT_BGRX32;
    size_t len = stride * h->height;
    size_t cap = glz_encode_bound(h->type, h->width, h->height);
    uint8_t *blob = malloc(cap);
    uint8_t *back = malloc(len);
    if (!blob || !back) abort();
    int64_t n = glz_encode(rt_enc, h->type, pix, len, h->width, h->height, stride, h->top_down, blob, cap);
    if (n < 0) {
        fprintf(stderr, "encode failed: %d\n", (int)-n);
        abort();
    }
    sc_error err;
    int rc = glz_decode(rt_win, blob, (size_t)n, back, len, stride, fmt, MAX_PIXELS, &err, NULL);
    if (rc) {
        fprintf(stderr, "round trip decode failed: %d at byte %lld\n", rc, (long long)err.offset);
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t mask = (h->type == 6 && (i & 1)) ? 0x7F : 0xFF;
        if ((pix[i] ^ back[i]) & mask) {
            fprintf(stderr, "round trip mismatch at byte %zu\n", i);
            abort();
        }
    }
    free(blob);
    free(back);
}

/* glz_decode_at into a wider, taller surface at an offset the input picks
 * (sometimes a byte short): the same outcome and pixels as glz_decode gave. */
static void decode_at_check(const uint8_t *data, size_t size, const glz_header *h, int fmt, int rc,
                            const uint8_t *out, size_t stride) {
    size_t obpp = fmt == GLZ_FMT_X1R5G5B5 ? 2 : 4;
    uint32_t x = (uint32_t)(size % 7), y = (uint32_t)((size / 7) % 5);
    size_t sstride = ((size_t)h->width + x + size % 3) * obpp;
    int short_by_one = (size / 35) % 2;
    size_t slen = sstride * (h->height + y) - (size_t)short_by_one;
    uint8_t *surf = malloc(slen);
    glz_window *w = glz_window_new(MAX_PIXELS);
    if (!surf || !w) abort();
    unsigned shift = 4 * (h->type - 6);
    uint32_t fmts = (0xFFFFu & ~(0xFu << shift)) | ((uint32_t)fmt << shift);
    glz_header hd;
    sc_error err;
    int arc = glz_decode_at(w, data, size, surf, slen, sstride, x, y, h->width, h->height, fmts, MAX_PIXELS,
                            &err, &hd);
    if (!short_by_one && arc != rc) {
        fprintf(stderr, "decode_at gave %d, decode %d\n", arc, rc);
        abort();
    }
    if (arc == SC_OK && rc == SC_OK)
        for (uint32_t r = 0; r < h->height; r++)
            if (memcmp(surf + (size_t)(y + r) * sstride + x * obpp, out + r * stride, h->width * obpp)) {
                fprintf(stderr, "decode_at row %u differs\n", r);
                abort();
            }
    /* another size is skipped */
    if (glz_decode_at(w, data, size, surf, slen, sstride, 0, 0, h->width, h->height + 1, fmts, MAX_PIXELS, &err,
                      &hd) != GLZ_SKIPPED)
        abort();
    glz_window_free(w);
    free(surf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!rt_enc) {
        rt_enc = glz_encoder_new(MAX_PIXELS);
        rt_win = glz_window_new(MAX_PIXELS);
        if (!rt_enc || !rt_win) abort();
    }
    glz_header h;
    int hrc = glz_read_header(data, size, &h, NULL);
    uint64_t npix = (uint64_t)h.width * h.height;
    size_t stride = (size_t)h.width * 4, len = stride * h.height;
    if (hrc || npix > MAX_PIXELS) {
        /* still exercise the header and size checks */
        uint8_t small[64];
        glz_window *w = glz_window_new(MAX_PIXELS);
        glz_decode(w, data, size, small, sizeof(small), 16, GLZ_FMT_BGRX32, MAX_PIXELS, NULL, NULL);
        glz_window_free(w);
        return 0;
    }
    int fmt = h.type == 6 ? GLZ_FMT_X1R5G5B5 : h.type == 9 ? GLZ_FMT_BGRA32 : GLZ_FMT_BGRX32;
    if (fmt == GLZ_FMT_X1R5G5B5) {
        stride = (size_t)h.width * 2;
        len = stride * h.height;
    }
    uint8_t *out = malloc(len);
    uint8_t *copy = malloc(size);
    if (!out || !copy) abort();
    glz_window *w = glz_window_new(MAX_PIXELS);
    sc_error err;
    int rc = glz_decode(w, data, size, out, len, stride, fmt, MAX_PIXELS, &err, NULL);
    if (rc == SC_OK) roundtrip(&h, out, stride);
    decode_at_check(data, size, &h, fmt, rc, out, stride);

    /* same stream as the next image: references with image distance 1 now
     * land in the first image when it decoded */
    memcpy(copy, data, size);
    uint64_t id = h.id + 1;
    for (int i = 0; i < 8; i++) copy[21 + i] = (uint8_t)(id >> (56 - 8 * i));
    glz_decode(w, copy, size, out, len, stride, fmt, MAX_PIXELS, &err, NULL);
    /* and once more into a buffer one byte short */
    if (len > 0) glz_decode(w, copy, size, out, len - 1, stride, fmt, MAX_PIXELS, &err, NULL);

    glz_window_free(w);

    /* the caller-shared path: the pixels outlive the window */
    w = glz_window_new(MAX_PIXELS);
    uint8_t *pinned = NULL;
    glz_decode(w, data, size, NULL, 0, stride, fmt, MAX_PIXELS, &err, &pinned);
    glz_window_free(w);
    if (pinned) {
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < len; i++) sum ^= pinned[i];
        (void)sum;
        glz_unpin(pinned);
    }
    free(out);
    free(copy);
    return 0;
}
