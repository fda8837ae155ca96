/* libFuzzer harness for the spice-lz decoder (built by tools/fuzz.py with ASan + UBSan).
 *
 * Each input is treated as an LZ blob and decoded into every output format its
 * type offers, once into a tight buffer and once into a padded one, with a
 * 13-entry palette for the palette types (so out-of-palette indices occur).
 * The same bytes are also fed to the encoder as pixels of a type chosen from
 * the input, and the blob must decode back (exactly, for A8 and RGBA).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lz.h"

static const int FORMATS[] = {SPICE_LZ_FMT_BGRX32, SPICE_LZ_FMT_BGRA32, SPICE_LZ_FMT_X1R5G5B5,
                              SPICE_LZ_FMT_A8};

static size_t format_size(int f) { return f == SPICE_LZ_FMT_A8 ? 1 : f == SPICE_LZ_FMT_X1R5G5B5 ? 2 : 4; }

static void round_trip(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 16384) {
        return;
    }
    int type = 1 + data[0] % 11;
    uint32_t width = 1 + data[1] % 97;
    data += 2;
    size -= 2;
    static const uint32_t ppb[] = {0, 8, 8, 2, 2, 1};
    static const uint32_t bpp[] = {0, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 1};
    size_t row = type <= 5 ? (width + ppb[type] - 1) / ppb[type] : (size_t)width * bpp[type];
    uint32_t height = (uint32_t)(size / row);
    if (height == 0) {
        return;
    }
    int top_down = data[-1] & 1;
    size_t cap = spice_lz_encode_bound(type, width, height), blob_len = 0;
    uint8_t *blob = (uint8_t *)malloc(cap);
    if (!blob) {
        return;
    }
    if (spice_lz_encode(type, width, height, top_down, data, size, row, blob, cap, &blob_len) != SC_OK) {
        abort();
    }
    int fmt = type == SPICE_LZ_RGBA ? SPICE_LZ_FMT_BGRA32
              : type >= SPICE_LZ_XXXA ? SPICE_LZ_FMT_A8 : SPICE_LZ_FMT_BGRX32;
    size_t out_len = (size_t)width * height * format_size(fmt);
    uint8_t *out = (uint8_t *)malloc(out_len);
    uint8_t palette[256 * 4] = {0};
    sc_error st;
    if (out) {
        if (spice_lz_decode(blob, blob_len, fmt, palette, 256, out, out_len, out_len / height, &st) != SC_OK) {
            abort();
        }
        if ((type == SPICE_LZ_A8 || type == SPICE_LZ_RGBA) && memcmp(out, data, out_len) != 0) {
            abort();
        }
        free(out);
    }
    free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    round_trip(data, size);
    spice_lz_header hdr;
    sc_error st;
    if (spice_lz_parse_header(data, size, &hdr, &st) != SC_OK) {
        return 0;
    }
    const uint64_t npix = (uint64_t)hdr.width * hdr.height;
    if (npix > (1u << 20)) {
        return 0; /* keep each run fast; the size checks are tested in Python */
    }
    /* Big images: one tight pass per format is enough. */
    const size_t max_pad = npix > (1u << 15) ? 0 : 5;
    uint8_t palette[13 * 4];
    for (size_t i = 0; i < sizeof palette; i++) {
        palette[i] = (uint8_t)(i * 37 + 11);
    }
    for (size_t k = 0; k < sizeof FORMATS / sizeof FORMATS[0]; k++) {
        int fmt = FORMATS[k];
        size_t row = hdr.width * format_size(fmt);
        for (size_t pad = 0; pad <= max_pad; pad += 5) {
            size_t stride = row + pad;
            size_t len = stride * (hdr.height - 1) + row;
            uint8_t *out = (uint8_t *)malloc(len);
            if (!out) {
                return 0;
            }
            int rc = spice_lz_decode(data, size, fmt, palette, 13, out, len, stride, &st);
            if (rc == SC_OK && pad == 0) {
                /* A successful decode must have touched every byte: read them all. */
                volatile uint8_t sink = 0;
                for (size_t i = 0; i < len; i++) {
                    sink ^= out[i];
                }
                (void)sink;
            }
            /* A buffer one byte short must be refused, never overrun. */
            int rc_short = spice_lz_decode(data, size, fmt, palette, 13, out, len - 1, stride, &st);
            if (rc_short != SC_E_BUFFER && rc_short != SC_E_FORMAT) {
                abort();
            }
            free(out);
            (void)rc;
        }
    }
    return 0;
}
