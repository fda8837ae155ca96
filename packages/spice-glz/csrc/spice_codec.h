/* Helpers and the error convention shared by the SPICE image codec cores
 * (spice-quic, spice-lz, spice-glz).
 *
 * The canonical copy is tools/spice_codec.h in the spice-python monorepo; each
 * codec vendors it unchanged as csrc/spice_codec.h so that it builds alone
 * (tests/test_codec_contract.py keeps the copies identical).
 *
 * The block between the SC-CDEF markers (the status codes and sc_error) is
 * also fed to each package's cffi cdef, so it holds only plain declarations.
 */
#ifndef SPICE_CODEC_H
#define SPICE_CODEC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SC-CDEF-BEGIN */
/* Status of a core call: 0 is success, the codes below are shared by the three
 * codecs, a codec's own codes start at SC_E_CODEC. */
enum {
    SC_OK = 0,
    SC_E_SHORT_HEADER = 1, /* the blob is shorter than its header */
    SC_E_MAGIC = 2,        /* bad magic number */
    SC_E_VERSION = 3,      /* unsupported format version */
    SC_E_TYPE = 4,         /* unknown or unsupported image type */
    SC_E_SIZE = 5,         /* width or height out of range (zero, too wide) */
    SC_E_STRIDE = 6,       /* a stride that does not fit the type and width */
    SC_E_TOO_LARGE = 7,    /* the image exceeds the caller's pixel limit */
    SC_E_IMPLAUSIBLE = 8,  /* the header claims more pixels than the blob can hold */
    SC_E_FORMAT = 9,       /* output format not available for this image type */
    SC_E_BUFFER = 10,      /* output (or input) buffer too small */
    SC_E_TRUNCATED = 11,   /* the stream ends before the image is complete */
    SC_E_OVERRUN = 12,     /* a run or match goes past the end of the image */
    SC_E_REFERENCE = 13,   /* a match refers back before the start of the image */
    SC_E_TRAILING = 14,    /* bytes left after the image is complete */
    SC_E_NOMEM = 15,       /* out of memory */
    SC_E_ARG = 16,         /* an invalid argument from the caller */
    SC_E_CODEC = 64        /* first code of a codec's own */
};

/* Where and why a core call failed; filled by every decoder (pointer may be NULL). */
typedef struct {
    int code;       /* SC_OK, an SC_E_* code or one of the codec's own */
    int64_t offset; /* input byte offset where the problem was found, -1 if none */
    int64_t pixel;  /* output pixel index (row * width + x) where it was found, -1 if none */
    uint64_t detail; /* the offending value: field, index, distance, count... */
} sc_error;
/* SC-CDEF-END */

/* Record a failure in err (if any) and return its code. */
static inline int sc_fail(sc_error *err, int code, int64_t offset, int64_t pixel, uint64_t detail)
{
    if (err) {
        err->code = code;
        err->offset = offset;
        err->pixel = pixel;
        err->detail = detail;
    }
    return code;
}

/* Reset err to "no error". */
static inline void sc_clear(sc_error *err)
{
    if (err) {
        err->code = SC_OK;
        err->offset = -1;
        err->pixel = -1;
        err->detail = 0;
    }
}

/* n bytes at position pos fit in a buffer of len bytes (no overflow for any pos, n). */
#define SC_FITS(pos, n, len) ((pos) <= (len) && (n) <= (len) - (pos))

/* ---- compiler hints ---------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define SC_INLINE static inline __attribute__((always_inline))
#define SC_NOINLINE __attribute__((noinline))
#define SC_LIKELY(x) __builtin_expect(!!(x), 1)
#define SC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SC_PREFETCH(p) __builtin_prefetch(p)
#else
#define SC_INLINE static inline
#define SC_NOINLINE
#define SC_LIKELY(x) (x)
#define SC_UNLIKELY(x) (x)
#define SC_PREFETCH(p) ((void)(p))
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SC_BIG_ENDIAN 1
#else
#define SC_BIG_ENDIAN 0
#endif

SC_INLINE uint32_t sc_bswap32(uint32_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap32(v);
#else
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
#endif
}

SC_INLINE uint64_t sc_bswap64(uint64_t v)
{
    return ((uint64_t)sc_bswap32((uint32_t)v) << 32) | sc_bswap32((uint32_t)(v >> 32));
}

/* Count of leading / trailing zero bits; v != 0. */
SC_INLINE unsigned sc_clz64(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_clzll(v);
#else
    unsigned n = 0;
    while (!(v & 0x8000000000000000ull)) { v <<= 1; n++; }
    return n;
#endif
}

SC_INLINE unsigned sc_ctz64(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(v);
#else
    unsigned n = 0;
    while (!(v & 1)) { v >>= 1; n++; }
    return n;
#endif
}

/* ---- unaligned loads and stores ---------------------------------------- */

/* Host byte order. */
SC_INLINE uint16_t sc_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
SC_INLINE uint32_t sc_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
SC_INLINE uint64_t sc_ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
SC_INLINE void sc_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
SC_INLINE void sc_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
SC_INLINE void sc_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Little-endian, whatever the host. */
SC_INLINE uint16_t sc_load_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
SC_INLINE uint32_t sc_load_le32(const uint8_t *p)
{
    uint32_t v = sc_ld32(p);
    return SC_BIG_ENDIAN ? sc_bswap32(v) : v;
}
SC_INLINE void sc_store_le32(uint8_t *p, uint32_t v) { sc_st32(p, SC_BIG_ENDIAN ? sc_bswap32(v) : v); }

/* Big-endian, whatever the host. */
SC_INLINE uint32_t sc_load_be32(const uint8_t *p)
{
    uint32_t v = sc_ld32(p);
    return SC_BIG_ENDIAN ? v : sc_bswap32(v);
}
SC_INLINE uint64_t sc_load_be64(const uint8_t *p)
{
    uint64_t v = sc_ld64(p);
    return SC_BIG_ENDIAN ? v : sc_bswap64(v);
}
SC_INLINE void sc_store_be32(uint8_t *p, uint32_t v) { sc_st32(p, SC_BIG_ENDIAN ? v : sc_bswap32(v)); }

#endif
