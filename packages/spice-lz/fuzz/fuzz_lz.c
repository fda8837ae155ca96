/* libFuzzer harness for the spice-lz decoder (built by tools/fuzz.py with ASan + UBSan).
 *
 * Each input is treated as an LZ blob and decoded into every output format its
 * type offers, once into a tight buffer and once into a padded one, with a
 * 13-entry palette for the palette types (so out-of-palette indices occur).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lz.h"

static const int FORMATS[] = {SPICE_LZ_FMT_BGRX32, SPICE_LZ_FMT_BGRA32, SPICE_LZ_FMT_X1R5G5B5,
                              SPICE_LZ_FMT_A8};

static size_t format_size(int f) { return f == SPICE_LZ_FMT_A8 ? 1 : f == SPICE_LZ_FMT_X1R5G5B5 ? 2 : 4; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    spice_lz_header hdr;
    spice_lz_status st;
    if (spice_lz_parse_header(data, size, &hdr, &st) != SPICE_LZ_OK) {
        return 0;
    }
    if ((uint64_t)hdr.width * hdr.height > (1u << 22)) {
        return 0; /* keep each run fast; the size checks are tested in Python */
    }
    uint8_t palette[13 * 4];
    for (size_t i = 0; i < sizeof palette; i++) {
        palette[i] = (uint8_t)(i * 37 + 11);
    }
    for (size_t k = 0; k < sizeof FORMATS / sizeof FORMATS[0]; k++) {
        int fmt = FORMATS[k];
        size_t row = hdr.width * format_size(fmt);
        for (size_t pad = 0; pad <= 5; pad += 5) {
            size_t stride = row + pad;
            size_t len = stride * (hdr.height - 1) + row;
            uint8_t *out = (uint8_t *)malloc(len);
            if (!out) {
                return 0;
            }
            int rc = spice_lz_decode(data, size, fmt, palette, 13, out, len, stride, &st);
            if (rc == SPICE_LZ_OK && pad == 0) {
                /* A successful decode must have touched every byte: read them all. */
                volatile uint8_t sink = 0;
                for (size_t i = 0; i < len; i++) {
                    sink ^= out[i];
                }
                (void)sink;
            }
            /* A buffer one byte short must be refused, never overrun. */
            int rc_short = spice_lz_decode(data, size, fmt, palette, 13, out, len - 1, stride, &st);
            if (rc_short != SPICE_LZ_E_BUFFER && rc_short != SPICE_LZ_E_FORMAT) {
                abort();
            }
            free(out);
            (void)rc;
        }
    }
    return 0;
}
