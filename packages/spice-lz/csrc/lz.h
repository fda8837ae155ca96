/* Public C interface of the spice-lz core (SPICE LZ image codec).
 *
 * The block between the CDEF markers is read verbatim by cffi_build.py, so it
 * must stay plain declarations and integer #defines.
 */
#ifndef SPICE_LZ_CORE_H
#define SPICE_LZ_CORE_H
#include <stddef.h>
#include <stdint.h>

/* CDEF BEGIN */
#define SPICE_LZ_ABI 4
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

/* Status codes (0 is success). */
#define SPICE_LZ_OK 0
#define SPICE_LZ_E_SHORT_HEADER 1
#define SPICE_LZ_E_MAGIC 2
#define SPICE_LZ_E_VERSION 3
#define SPICE_LZ_E_TYPE 4
#define SPICE_LZ_E_EMPTY 5
#define SPICE_LZ_E_STRIDE 6
#define SPICE_LZ_E_TOO_LARGE 7
#define SPICE_LZ_E_TOP_DOWN 8
#define SPICE_LZ_E_TRUNCATED 9
#define SPICE_LZ_E_REFERENCE 10
#define SPICE_LZ_E_OVERRUN 11
#define SPICE_LZ_E_TRAILING 12
#define SPICE_LZ_E_NO_PALETTE 13
#define SPICE_LZ_E_PALETTE_INDEX 14
#define SPICE_LZ_E_FORMAT 15
#define SPICE_LZ_E_BUFFER 16
#define SPICE_LZ_E_NOMEM 17
#define SPICE_LZ_E_INPUT 18
#define SPICE_LZ_E_OUTPUT_SPACE 19
#define SPICE_LZ_E_IMPLAUSIBLE 20

typedef struct {
    uint32_t type;
    uint32_t width;
    uint32_t height;
    uint32_t stride;
    uint32_t top_down;
} spice_lz_header;

typedef struct {
    int code;       /* SPICE_LZ_OK or SPICE_LZ_E_* */
    size_t offset;  /* byte offset in the blob where the problem was found */
    uint32_t value; /* extra detail: the offending index, field value, ... */
} spice_lz_status;

int spice_lz_core_abi(void);

/* Parse and validate the 28-byte header. */
int spice_lz_parse_header(const uint8_t *blob, size_t len, spice_lz_header *hdr, spice_lz_status *st);

/* The most pixels a blob of len bytes (header included) can decode to for an
 * image of this type and width; spice_lz_decode fails with
 * SPICE_LZ_E_IMPLAUSIBLE, before allocating anything, when the header claims more. */
uint64_t spice_lz_pixel_bound(size_t len, uint32_t type, uint32_t width);

/* Decode a whole blob into out (top row first, rows out_stride bytes apart).
 * palette: num_ents little-endian u32 entries 0x00RRGGBB (PLT types only). */
int spice_lz_decode(const uint8_t *blob, size_t len, int format, const uint8_t *palette,
                    uint32_t num_ents, uint8_t *out, size_t out_len, size_t out_stride,
                    spice_lz_status *st);

/* Worst-case encoded size of an image, header included (0 if the size overflows). */
size_t spice_lz_encode_bound(int type, uint32_t width, uint32_t height);

/* Encode pixels in the type's native layout (rows in_stride bytes apart, top row
 * first). top_down = 0 makes the stream carry the bottom row first. */
int spice_lz_encode(int type, uint32_t width, uint32_t height, int top_down, const uint8_t *pixels,
                    size_t pix_len, size_t in_stride, uint8_t *out, size_t out_cap, size_t *out_size);
/* CDEF END */

#endif
