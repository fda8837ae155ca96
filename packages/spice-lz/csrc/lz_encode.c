/* SPICE LZ encoder (placeholder until the compressor lands). */
#include "lz_internal.h"

size_t spice_lz_encode_bound(int type, uint32_t width, uint32_t height)
{
    (void)type; (void)width; (void)height;
    return 0;
}

int spice_lz_encode(int type, uint32_t width, uint32_t height, int top_down, const uint8_t *pixels,
                    size_t pix_len, size_t in_stride, uint8_t *out, size_t out_cap, size_t *out_size)
{
    (void)type; (void)width; (void)height; (void)top_down; (void)pixels; (void)pix_len;
    (void)in_stride; (void)out; (void)out_cap; (void)out_size;
    return SPICE_LZ_E_INPUT;
}
