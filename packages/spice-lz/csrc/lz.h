/* Public C interface of the spice-lz core (SPICE LZ image codec).
 *
 * The block between the CDEF markers is read verbatim by cffi_build.py, so it
 * must stay plain declarations and integer #defines.
 */
#ifndef SPICE_LZ_CORE_H
#define SPICE_LZ_CORE_H
#include <stddef.h>
#include <stdint.h>

#include "spice_codec.h"

/* CDEF BEGIN */
#define SPICE_LZ_ABI 5
#define SPICE_LZ_HEADER_SIZE 28

/* LZ image types, as numbered in the blob header. */
#define SPICE_LZ_PLT1_LE 1
#define SPICE_LZ_PLT1_BE 2
#define SPICE_LZ_PLT4_LE 3
#define SPICE_LZ_PLT4_BE 4
#define SPICE_LZ_PLT8 5
#define SPICE_LZ_RGB16 6
#define SPICE_LZ_RGB24 7
#define SPICE_LZ_RGB32 8
#define SPICE_LZ_RGBA 9
#define SPICE_LZ_XXXA 10
#define SPICE_LZ_A8 11

/* Output pixel formats of the decoder. */
#define SPICE_LZ_FMT_BGRX32 1
#define SPICE_LZ_FMT_BGRA32 2
#define SPICE_LZ_FMT_X1R5G5B5 3
#define SPICE_LZ_FMT_A8 4

/* Status codes: 0 or the shared SC_E_* codes of spice_codec.h, and these of LZ's own. */
#define SPICE_LZ_E_TOP_DOWN 64      /* the row-order flag is neither 0 nor 1 */
#define SPICE_LZ_E_NO_PALETTE 65    /* a palette image decoded without a palette */
#define SPICE_LZ_E_PALETTE_INDEX 66 /* a palette index outside the palette */

typedef struct {
    uint32_t type;
    uint32_t width;
    uint32_t height;
    uint32_t stride;
    uint32_t top_down;
} spice_lz_header;

int spice_lz_core_abi(void);

/* Parse and validate the 28-byte header. */
int spice_lz_parse_header(const uint8_t *blob, size_t len, spice_lz_header *hdr, sc_error *st);

/* The most pixels a blob of len bytes (header included) can decode to for an
 * image of this type and width; spice_lz_decode fails with
 * SC_E_IMPLAUSIBLE, before allocating anything, when the header claims more. */
uint64_t spice_lz_pixel_bound(size_t len, uint32_t type, uint32_t width);

/* Decode a whole blob into out (top row first, rows out_stride bytes apart).
 * palette: num_ents little-endian u32 entries 0x00RRGGBB (PLT types only). */
int spice_lz_decode(const uint8_t *blob, size_t len, int format, const uint8_t *palette,
                    uint32_t num_ents, uint8_t *out, size_t out_len, size_t out_stride,
                    sc_error *st);

/* Worst-case encoded size of an image, header included (0 if the size overflows). */
size_t spice_lz_encode_bound(int type, uint32_t width, uint32_t height);

/* Encode pixels in the type's native layout (rows in_stride bytes apart, top row
 * first). top_down = 0 makes the stream carry the bottom row first. */
int spice_lz_encode(int type, uint32_t width, uint32_t height, int top_down, const uint8_t *pixels,
                    size_t pix_len, size_t in_stride, uint8_t *out, size_t out_cap, size_t *out_size);
/* CDEF END */

#endif
