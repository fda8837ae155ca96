/* Public C interface of the spice-glz core.
 *
 * The part between the CDEF markers is fed verbatim to cffi's cdef(), so it
 * holds only plain declarations and integer #defines.
 */
#ifndef SPICE_GLZ_CORE_H
#define SPICE_GLZ_CORE_H
#include <stddef.h>
#include <stdint.h>

#include "spice_codec.h"

/* CDEF-BEGIN */
#define GLZ_ABI 7

/* Output pixel formats. */
#define GLZ_FMT_BGRX32 0
#define GLZ_FMT_BGRA32 1
#define GLZ_FMT_X1R5G5B5 2

/* Status codes: 0 or the shared SC_E_* codes of spice_codec.h, and these of GLZ's own. */
#define GLZ_E_IMAGE_DIST 64     /* an image distance reaching before image 0 */
#define GLZ_E_OUTSIDE_WINDOW 65 /* a reference older than the header's win_head_dist allows */
#define GLZ_E_MISSING_IMAGE 66  /* a reference to an image not in the window */
#define GLZ_E_TYPE_MISMATCH 67  /* a reference to an image of another LZ type */
#define GLZ_E_REF_RANGE 68      /* a reference past the end of the referenced image */
#define GLZ_E_WINDOW 69         /* win_head_dist larger than the image id */

typedef struct {
    uint32_t type;          /* LZ image type, 1..11 */
    uint32_t top_down;      /* 1: stream carries the top row first */
    uint32_t width;
    uint32_t height;
    uint32_t stride;        /* stride field of the header, in bytes */
    uint64_t id;            /* image id */
    uint32_t win_head_dist; /* id - win_head_dist = oldest image still referenced */
} glz_header;

typedef struct glz_window glz_window;
typedef struct glz_encoder glz_encoder;

int spice_glz_core_abi(void);

/* Parse and check the 33-byte header; err (may be NULL) says which field is wrong. */
int glz_read_header(const uint8_t *in, size_t in_len, glz_header *hdr, sc_error *err);

glz_window *glz_window_new(uint64_t max_pixels);
void glz_window_free(glz_window *w);
void glz_window_clear(glz_window *w);
void glz_window_set_max_pixels(glz_window *w, uint64_t max_pixels);
uint64_t glz_window_pixels(const glz_window *w);
size_t glz_window_count(const glz_window *w);
size_t glz_window_ids(const glz_window *w, uint64_t *out, size_t cap);

/* The most pixels a blob of in_len bytes (header included) can decode to;
 * glz_decode fails with SC_E_IMPLAUSIBLE, before allocating anything, when
 * the header claims more. */
uint64_t glz_pixel_bound(size_t in_len);

/* Decodes one GLZ image (the header included) against the window, writes it
 * to out (rows top first, out_stride bytes apart, format fmt) and, on
 * success, adds it to the window. The window is unchanged on failure.
 * With pinned != NULL, *pinned receives the window's own copy of the pixels
 * (stream row order, stored format), valid until glz_unpin; out may then be
 * NULL when that copy already is the requested picture (top-down, stored
 * format). */
int glz_decode(glz_window *w, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
               size_t out_stride, int fmt, uint64_t max_image_pixels, sc_error *err,
               uint8_t **pinned);
void glz_unpin(uint8_t *pixels);

/* glz_decode straight into the width x height rectangle at (x, y) of out
 * (rows out_stride bytes apart), when the header says width x height and
 * fmts names a format for its type: 4 bits per type from RGB16 up (bits 0-3
 * RGB16, 4-7 RGB24, 8-11 RGB32, 12-15 RGBA), GLZ_FMT_NONE for none. Returns
 * GLZ_SKIPPED, having done nothing, when the image does not qualify;
 * SC_E_BUFFER when the rectangle is not inside out. hdr receives the header. */
#define GLZ_FMT_NONE 15
#define GLZ_SKIPPED -1
int glz_decode_at(glz_window *w, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                  size_t out_stride, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                  uint32_t fmts, uint64_t max_image_pixels, sc_error *err, glz_header *hdr);

glz_encoder *glz_encoder_new(uint64_t window_pixels);
void glz_encoder_free(glz_encoder *e);
void glz_encoder_reset(glz_encoder *e);
uint64_t glz_encoder_next_id(const glz_encoder *e);
size_t glz_encode_bound(uint32_t type, uint32_t width, uint32_t height);
/* The encoder's own output buffer, grown to at least need bytes (NULL if out of memory). */
uint8_t *glz_encoder_scratch(glz_encoder *e, size_t need);
/* Encodes pixels (rows top first, stride bytes apart, in the type's input
 * layout) and adds the image to the encoder's dictionary. Returns the number
 * of bytes written to out, or a negative status code. */
int64_t glz_encode(glz_encoder *e, uint32_t type, const uint8_t *pixels, size_t pixels_len,
                   uint32_t width, uint32_t height, size_t stride, int top_down, uint8_t *out,
                   size_t out_cap);
/* CDEF-END */

#endif
