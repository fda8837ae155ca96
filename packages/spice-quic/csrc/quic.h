/* Public C interface of the spice-quic core, as seen by cffi.
 *
 * Everything between the stdint include and the closing endif is fed to
 * cffi's cdef, so it must stay plain declarations.
 */
#ifndef SPICE_QUIC_CORE_H
#define SPICE_QUIC_CORE_H
#include <stddef.h>
#include <stdint.h>

#include "spice_codec.h"

/* CDEF BEGIN */

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

/* Status codes: 0 or the shared SC_E_* codes of spice_codec.h, and these of QUIC's own. */
#define SPICE_QUIC_E_RUN 64   /* a run of repeated pixels goes past the row's end */
#define SPICE_QUIC_E_ALIGN 65 /* the blob is not a whole number of 32-bit words */

/* Parse the 20-byte header: out[0] = image type, out[1] = width, out[2] = height. */
int spice_quic_read_header(const uint8_t *blob, size_t blob_len, uint32_t *out, sc_error *err);

/* The most pixels a blob of blob_len bytes (header included) can decode to
 * for an image of this type and width; spice_quic_decode fails with
 * SC_E_IMPLAUSIBLE, before allocating anything, when the header
 * claims more. */
uint64_t spice_quic_pixel_bound(size_t blob_len, uint32_t image_type, uint32_t width);

/* Decode a whole blob into dst (dst_len bytes).  Row 0 (the top row) starts at
 * dst when stride > 0, at dst + (height-1)*|stride| when stride < 0.  At most
 * max_pixels pixels are accepted.  On error, err (may be NULL) says where:
 * the header field's offset, or the first pixel of the image row being decoded. */
int spice_quic_decode(const uint8_t *blob, size_t blob_len, int format, uint8_t *dst, size_t dst_len,
                      int64_t stride, uint64_t max_pixels, sc_error *err);

/* Encode pixels of the given image type (input layout per type: GRAY 1 byte,
 * RGB16 little-endian x1r5g5b5, RGB24 B,G,R, RGB32 B,G,R,X, RGBA B,G,R,A).
 * On success *out points to a malloc'ed blob of *out_len bytes, to be released
 * with spice_quic_free. */
int spice_quic_encode(const uint8_t *src, size_t src_len, int64_t stride, int image_type, uint32_t width,
                      uint32_t height, uint8_t **out, size_t *out_len);

void spice_quic_free(void *p);
/* CDEF END */

#endif
