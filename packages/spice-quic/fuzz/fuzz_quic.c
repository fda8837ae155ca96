/* libFuzzer harness for the QUIC decoder (tools/fuzz.py builds it with ASan/UBSan).
 *
 * Every input is decoded to each output format its header allows.  When a
 * decode succeeds, the picture is re-encoded and decoded again, and must come
 * back identical (the codec is lossless), which exercises the encoder too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic.h"

#define MAX_FUZZ_PIXELS (1u << 18)

static void roundtrip(const uint8_t *pixels, size_t len, uint32_t type, uint32_t w, uint32_t h, int fmt,
                      size_t bpp)
{
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    /* RGB24 re-encodes from bgrx32 as RGB32: same channels, same stream. */
    int enc_type = type == 3 ? 4 : (int)type;
    if (spice_quic_encode(pixels, len, (int64_t)(w * bpp), enc_type, w, h, &blob, &blob_len) != 0) abort();
    uint8_t *again = malloc(len);
    sc_error row;
    if (!again) abort();
    if (spice_quic_decode(blob, blob_len, fmt, again, len, (int64_t)(w * bpp), MAX_FUZZ_PIXELS, &row) != 0)
        abort();
    if (memcmp(again, pixels, len) != 0) abort();
    free(again);
    spice_quic_free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int formats[] = {SPICE_QUIC_FMT_BGRX32, SPICE_QUIC_FMT_BGRA32, SPICE_QUIC_FMT_X1R5G5B5,
                                  SPICE_QUIC_FMT_GRAY8};
    static const size_t format_bytes[] = {4, 4, 2, 1};
    uint32_t hdr[3];
    spice_quic_init();
    if (spice_quic_read_header(data, size, hdr, NULL) != 0) {
        sc_error row;
        uint8_t px[4];
        spice_quic_decode(data, size, SPICE_QUIC_FMT_BGRX32, px, sizeof(px), 4, 1, &row);
        return 0;
    }
    const uint32_t type = hdr[0], w = hdr[1], h = hdr[2];
    if ((uint64_t)w * h > MAX_FUZZ_PIXELS) return 0;
    for (int k = 0; k < 4; k++) {
        const size_t bpp = format_bytes[k];
        const size_t len = (size_t)w * h * bpp;
        uint8_t *out = malloc(len);
        sc_error row;
        if (!out) abort();
        /* bottom-up for some input sizes, to cover negative strides too */
        int64_t stride = (int64_t)(w * bpp) * ((size & 4) ? -1 : 1);
        int rc = spice_quic_decode(data, size, formats[k], out, len, stride, MAX_FUZZ_PIXELS, &row);
        /* RGB16 re-encodes from its native x1r5g5b5 output only */
        if (rc == 0 && stride > 0 && (type != 2 || formats[k] == SPICE_QUIC_FMT_X1R5G5B5))
            roundtrip(out, len, type, w, h, formats[k], bpp);
        free(out);
    }
    return 0;
}
