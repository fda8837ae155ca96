/* Public C interface of the spice-quic core, as seen by cffi.
 *
 * Everything between the stdint include and the closing endif is fed to
 * cffi's cdef, so it must stay plain declarations.
 */
#ifndef SPICE_QUIC_CORE_H
#define SPICE_QUIC_CORE_H
#include <stddef.h>
#include <stdint.h>

/* Bumped whenever this interface changes; checked by the Python layer. */
int spice_quic_abi(void);

/* Fill the shared constant tables; call once before anything else (idempotent). */
void spice_quic_init(void);

/* Output pixel formats of the decoder. */
enum {
    SPICE_QUIC_FMT_BGRX32 = 1,
    SPICE_QUIC_FMT_BGRA32 = 2,
    SPICE_QUIC_FMT_X1R5G5B5 = 3,
    SPICE_QUIC_FMT_GRAY8 = 4
};

/* Result codes (0 = success). */
enum {
    SPICE_QUIC_OK = 0,
    SPICE_QUIC_ERR_SHORT_HEADER = -1,
    SPICE_QUIC_ERR_MAGIC = -2,
    SPICE_QUIC_ERR_VERSION = -3,
    SPICE_QUIC_ERR_TYPE = -4,
    SPICE_QUIC_ERR_SIZE = -5,
    SPICE_QUIC_ERR_TOO_LARGE = -6,
    SPICE_QUIC_ERR_FORMAT = -7,
    SPICE_QUIC_ERR_BUFFER = -8,
    SPICE_QUIC_ERR_TRUNCATED = -9,
    SPICE_QUIC_ERR_RUN = -10,
    SPICE_QUIC_ERR_NOMEM = -11,
    SPICE_QUIC_ERR_ALIGN = -12,
    SPICE_QUIC_ERR_STRIDE = -13,
    SPICE_QUIC_ERR_IMPLAUSIBLE = -14
};

/* Parse the 20-byte header: out[0] = image type, out[1] = width, out[2] = height. */
int spice_quic_read_header(const uint8_t *blob, size_t blob_len, uint32_t *out);

/* The most pixels a blob of blob_len bytes (header included) can decode to
 * for an image of this type and width; spice_quic_decode fails with
 * SPICE_QUIC_ERR_IMPLAUSIBLE, before allocating anything, when the header
 * claims more. */
uint64_t spice_quic_pixel_bound(size_t blob_len, uint32_t image_type, uint32_t width);

/* Decode a whole blob into dst (dst_len bytes).  Row 0 (the top row) starts at
 * dst when stride > 0, at dst + (height-1)*|stride| when stride < 0.  At most
 * max_pixels pixels are accepted.  On error, *err_row receives the image row
 * where the problem was found (or -1). */
int spice_quic_decode(const uint8_t *blob, size_t blob_len, int format, uint8_t *dst, size_t dst_len,
                      int64_t stride, uint64_t max_pixels, int64_t *err_row);

/* Encode pixels of the given image type (input layout per type: GRAY 1 byte,
 * RGB16 little-endian x1r5g5b5, RGB24 B,G,R, RGB32 B,G,R,X, RGBA B,G,R,A).
 * On success *out points to a malloc'ed blob of *out_len bytes, to be released
 * with spice_quic_free. */
int spice_quic_encode(const uint8_t *src, size_t src_len, int64_t stride, int image_type, uint32_t width,
                      uint32_t height, uint8_t **out, size_t *out_len);

void spice_quic_free(void *p);

#endif
