/* Shared internals of the QUIC codec: constants, adaptive model, bit I/O.
 *
 * QUIC codes each colour channel with an adaptive Golomb-Rice code.  The
 * code parameter k is chosen per context bucket (the bucket of the previous
 * pixel's residual in the same channel), and each bucket keeps running cost
 * totals for every k so it can switch to the cheapest one.  Cost totals are
 * refreshed only at pseudo-random sample pixels, whose spacing grows with
 * the number of pixels coded so far.  Rows after the first can also carry
 * runs of repeated pixels, coded with an adaptive run-length ("melcode")
 * scheme.
 */
#ifndef SPICE_QUIC_INTERNAL_H
#define SPICE_QUIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quic.h"
#include "spice_codec.h"

#define QUIC_ABI 5
#define QUIC_MAGIC 0x43495551u
#define QUIC_HEADER_BYTES 20

enum { IT_GRAY = 1, IT_RGB16 = 2, IT_RGB24 = 3, IT_RGB32 = 4, IT_RGBA = 5 };

/* The pixel loops are compiled twice on x86-64 glibc systems: for the
 * baseline and for x86-64-v3 (lzcnt, BMI2 shifts), picked at load time.
 * (clang 14 gives the resolvers of static clones external names: keep the
 * cloned functions' names unique across the sources.) */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(SPICE_QUIC_NO_CLONES) &&                 \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && \
                                                         __GNUC__ >= 12))
#define Q_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define Q_CLONES
#endif

/* ---- constant tables (filled by spice_quic_init) ---------------------- */

/* One Golomb code family: 8 bits per channel, or 5 for RGB16. */
typedef struct {
    /* per code parameter k: */
    uint8_t gr_limit[8];  /* unary prefixes shorter than this are Rice codes */
    uint8_t esc_base[8];  /* first value coded by the escape code */
    uint8_t esc_len[8];   /* total length of an escape codeword */
    /* per value, per k: codeword and its length (encoder, model update) */
    uint8_t code[256][8];
    uint8_t len[256][8];
    uint8_t zigzag[256];  /* signed difference (mod 2^bpc) -> residual */
} Family;

typedef struct {
    Family f8, f5;
    uint8_t bucket8[256];      /* residual -> context bucket, 8 bpc */
    uint8_t bucket5[256];      /* residual -> context bucket, 5 bpc (32 used) */
    uint8_t bucket_start8[8];  /* first residual of each bucket */
    uint8_t bucket_start5[8];
    uint16_t bucket_size8[8];  /* residuals in each bucket */
    uint16_t bucket_size5[8];
} Tables;

extern Tables quic_tab;

extern const uint32_t quic_rand_table[256];
extern const uint16_t quic_trigger_table[7];
extern const uint8_t quic_run_order[32];
/* Largest entry of quic_run_order: one '1' bit of a run code adds at most 2^15 pixels. */
#define QUIC_MAX_RUN_ORDER 15

/* Sample spacing grows every 2048 pixels until it reaches this index. */
#define WM_MAX 6
#define WM_STEP 2048

/* ---- per-channel-group coding state ---------------------------------- */

typedef struct {
    uint32_t waitcnt;  /* pixels left before the next model update */
    uint32_t seed;     /* index into the random table */
    uint32_t wmidx;    /* current sample-spacing index (0..WM_MAX) */
    uint32_t wmileft;  /* pixels left before wmidx grows */
    uint32_t trigger;  /* cost total that halves a bucket's counters */
    uint32_t runstate; /* run-length coder state (0..31) */
} State;

SC_INLINE void state_init(State *s)
{
    s->waitcnt = 0;
    s->seed = 0xff;
    s->wmidx = 0;
    s->wmileft = WM_STEP;
    s->trigger = quic_trigger_table[0];
    s->runstate = 0;
}

SC_INLINE uint32_t state_rand(State *s)
{
    s->seed = (s->seed + 1) & 0xff;
    return quic_rand_table[s->seed];
}

/* Adaptive model of one channel: 8 buckets (5 used at 5 bpc), each with
 * the current best code parameter and cost totals per parameter.  k_of
 * repeats each bucket's best parameter for every context value in it, so
 * the pixel loops need one lookup per codeword. */
typedef struct {
    uint8_t k_of[256];
    uint8_t best[8];
    uint32_t cost[8][8];
} Model;

SC_INLINE void model_init(Model *m, unsigned bpc)
{
    memset(m, 0, sizeof(*m));
    memset(m->best, (int)(bpc - 1), sizeof(m->best));
    memset(m->k_of, (int)(bpc - 1), sizeof(m->k_of));
}

/* Account residual v (coded in the context ctx) into the model. */
SC_INLINE void model_update(Model *m, unsigned bpc, unsigned ctx, unsigned v, uint32_t trigger)
{
    const Family *f = bpc == 8 ? &quic_tab.f8 : &quic_tab.f5;
    unsigned b = (bpc == 8 ? quic_tab.bucket8 : quic_tab.bucket5)[ctx];
    uint32_t *c = m->cost[b];
    const uint8_t *l = f->len[v];
    unsigned best = bpc - 1;
    uint32_t bestcost = (c[bpc - 1] += l[bpc - 1]);
    for (int k = (int)bpc - 2; k >= 0; k--) {
        uint32_t t = (c[k] += l[k]);
        if (t < bestcost) {
            bestcost = t;
            best = (unsigned)k;
        }
    }
    if (best != m->best[b]) {
        m->best[b] = (uint8_t)best;
        if (bpc == 8)
            memset(m->k_of + quic_tab.bucket_start8[b], (int)best, quic_tab.bucket_size8[b]);
        else
            memset(m->k_of + quic_tab.bucket_start5[b], (int)best, quic_tab.bucket_size5[b]);
    }
    if (bestcost > trigger) {
        for (unsigned k = 0; k < bpc; k++) c[k] >>= 1;
    }
}

#endif
