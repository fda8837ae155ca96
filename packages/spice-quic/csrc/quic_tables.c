/* Constant tables of the QUIC codec and their one-time initialisation. */
#include <stdlib.h>

#include "quic_internal.h"

Tables quic_tab;

/* Pseudo-random sequence that spaces out model updates (wire-compatible
 * constants: encoder and decoder must draw the same values). */
const uint32_t quic_rand_table[256] = {
    0x02C57542u, 0x35427717u, 0x2F5A2153u, 0x9244F155u, 0x7BD26D07u, 0x354C6052u,
    0x57329B28u, 0x2993868Eu, 0x6CD8808Cu, 0x147B46E0u, 0x99DB66AFu, 0xE32B4CACu,
    0x1B671264u, 0x9D433486u, 0x62A4C192u, 0x06089A4Bu, 0x9E3DCE44u, 0xDAABEE13u,
    0x222425EAu, 0xA46F331Du, 0xCD589250u, 0x8BB81D7Fu, 0xC8B736B9u, 0x35948D33u,
    0xD7AC7FD0u, 0x5FBE2803u, 0x2CFBC105u, 0x013DBC4Eu, 0x7A37820Fu, 0x39F88E9Eu,
    0xEDD58794u, 0xC5076689u, 0xFCADA5A4u, 0x64C2F46Du, 0xB3BA3243u, 0x8974B4F9u,
    0x5A05AEBDu, 0x20AFCD00u, 0x39E2B008u, 0x88A18A45u, 0x600BDE29u, 0xF3971ACEu,
    0xF37B0A6Bu, 0x7041495Bu, 0x70B707ABu, 0x06BEFFBBu, 0x4206051Fu, 0xE13C4EE3u,
    0xC1A78327u, 0x91AA067Cu, 0x8295F72Au, 0x732917A6u, 0x1D871B4Du, 0x4048F136u,
    0xF1840E7Eu, 0x6A6048C1u, 0x696CB71Au, 0x7FF501C3u, 0x0FC6310Bu, 0x57E0F83Du,
    0x8CC26E74u, 0x11A525A2u, 0x946934C7u, 0x7CD888F0u, 0x8F9D8604u, 0x4F86E73Bu,
    0x04520316u, 0xDEEEA20Cu, 0xF1DEF496u, 0x67687288u, 0xF540C5B2u, 0x22401484u,
    0x3478658Au, 0xC2385746u, 0x01979C2Cu, 0x5DAD73C8u, 0x0321F58Bu, 0xF0FEDBEEu,
    0x92826DDFu, 0x284BEC73u, 0x5B1A1975u, 0x03DF1E11u, 0x20963E01u, 0xA17CF12Bu,
    0x740D776Eu, 0xA7A6BF3Cu, 0x01B5CCE4u, 0x1118AA76u, 0xFC6FAC0Au, 0xCE927E9Bu,
    0x00BF2567u, 0x806F216Cu, 0xBCA69056u, 0x795BD3E9u, 0xC9DC4557u, 0x8929B6C2u,
    0x789D52ECu, 0x3F3FBF40u, 0xB9197368u, 0xA38C15B5u, 0xC3B44FA8u, 0xCA8333B0u,
    0xB7E8D590u, 0xBE807FEBu, 0xBF5F8360u, 0xD99E2F5Cu, 0x372928E1u, 0x7C757C4Cu,
    0x0DB5B154u, 0xC01EDE02u, 0x1FC86E78u, 0x1F3985BEu, 0xB4805C77u, 0x00C880FAu,
    0x974C1B12u, 0x35AB0214u, 0xB2DC840Du, 0x5B00AE37u, 0xD313B026u, 0xB260969Du,
    0x7F4C8879u, 0x1734C4D3u, 0x49068631u, 0xB9F6A021u, 0x6B863E6Fu, 0xCEE5DEBFu,
    0x29F8C9FBu, 0x53DD6880u, 0x72B61223u, 0x1F67A9FDu, 0x0A0F6993u, 0x13E59119u,
    0x11CCA12Eu, 0xFE6B6766u, 0x16B6EFFCu, 0x97918FC4u, 0xC2B8A563u, 0x94F2F741u,
    0x0BFA8C9Au, 0xD1537AE8u, 0xC1DA349Cu, 0x873C60CAu, 0x95005B85u, 0x9B5C080Eu,
    0xBC8ABBD9u, 0xE1EAB1D2u, 0x6DAC9070u, 0x4EA9EBF1u, 0xE0CF30D4u, 0x1EF5BD7Bu,
    0xD161043Eu, 0x5D2FA2E2u, 0xFF5D3CAEu, 0x86ED9F87u, 0x2AA1DAA1u, 0xBD731A34u,
    0x9E8F4B22u, 0xB1C2C67Au, 0xC21758C9u, 0xA182215Du, 0xCCB01948u, 0x8D168DF7u,
    0x04238CFEu, 0x368C3DBCu, 0x0AEADCA5u, 0xBAD21C24u, 0x0A71FEE5u, 0x9FC5D872u,
    0x54C152C6u, 0xFC329483u, 0x6783384Au, 0xEDDB3E1Cu, 0x65F90E30u, 0x884AD098u,
    0xCE81675Au, 0x4B372F7Du, 0x68BF9A39u, 0x43445F1Eu, 0x40F8D8CBu, 0x90D5ACB6u,
    0x4CD07282u, 0x349EEB06u, 0x0C9D5332u, 0x520B24EFu, 0x80020447u, 0x67976491u,
    0x2F931CA3u, 0xFE9B0535u, 0xFCD30220u, 0x61A9E6CCu, 0xA487D8D7u, 0x3F7C5DD1u,
    0x7D0127C5u, 0x48F51D15u, 0x60DEA871u, 0xC9A91CB7u, 0x58B53BB3u, 0x9D5E0B2Du,
    0x624A78B4u, 0x30DBEE1Bu, 0x9BDF22E7u, 0x1DF5C299u, 0x2D5643A7u, 0xF4DD35FFu,
    0x03CA8FD6u, 0x53B47ED8u, 0x6F2C19AAu, 0xFEB0C1F4u, 0x49E54438u, 0x2F2577E6u,
    0xBF876969u, 0x72440EA9u, 0xFA0BAFB8u, 0x74F5B3A0u, 0x7DD357CDu, 0x89CE1358u,
    0x6EF2CDDAu, 0x1E7767F3u, 0xA6BE9FDBu, 0x4F5F88F8u, 0xBA994A3Au, 0x08CA6B65u,
    0xE0893818u, 0x9E00A16Au, 0xF42BFC8Fu, 0x9972EEDCu, 0x749C8B51u, 0x32C05F5Eu,
    0xD706805Fu, 0x6BFBB7CFu, 0xD9210A10u, 0x31A1DB97u, 0x923A9559u, 0x37A7A1F6u,
    0x059F8861u, 0xCA493E62u, 0x65157E81u, 0x8F6467DDu, 0xAB85FF9Fu, 0x9331AFF2u,
    0x8616B9F5u, 0xEDBD5695u, 0xEE7E29B1u, 0x313AC44Fu, 0xB903112Fu, 0x432EF649u,
    0xDC0A36C0u, 0x61CF2BBAu, 0x81474925u, 0xA8B6C7ADu, 0xEE5931DEu, 0xB2F8158Du,
    0x59FB7409u, 0x2E3DFAEDu, 0x9AF25A3Fu, 0xE1FED4D5u,
};

/* Cost total above which a bucket halves its counters, per spacing index. */
const uint16_t quic_trigger_table[WM_MAX + 1] = {110, 550, 900, 800, 550, 400, 350};

/* Run coder: log2 of the expected run length for each of the 32 states. */
const uint8_t quic_run_order[32] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                    4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* Longest codeword any family may emit. */
#define MAX_CODE_LEN 26

static unsigned bits_needed(unsigned count) /* smallest b with 2^b >= count */
{
    unsigned b = 0;
    while ((1u << b) < count) b++;
    return b;
}

static void family_init(Family *f, unsigned bpc)
{
    const unsigned levels = 1u << bpc;
    memset(f, 0, sizeof(*f));
    for (unsigned k = 0; k < bpc; k++) {
        /* Rice codes with a unary part of up to gr_limit-1 zeros; the rest of
           the values share one escape: gr_limit zeros + a fixed-size suffix. */
        unsigned limit = MAX_CODE_LEN - bpc;
        unsigned cap = (1u << (bpc - k)) - 1;
        if (limit > cap) limit = cap;
        unsigned base = limit << k;
        unsigned suffix = bits_needed(levels - base);
        f->gr_limit[k] = (uint8_t)limit;
        f->esc_base[k] = (uint8_t)base;
        f->esc_len[k] = (uint8_t)(limit + suffix);
        for (unsigned v = 0; v < 256; v++) {
            if (v < base) {
                f->len[v][k] = (uint8_t)((v >> k) + k + 1);
                f->code[v][k] = (uint8_t)((1u << k) | (v & ((1u << k) - 1)));
            } else {
                f->len[v][k] = (uint8_t)(limit + suffix);
                f->code[v][k] = (uint8_t)(v - base);
            }
        }
    }
    /* Differences near zero (either sign) get the small residuals:
       0, -1, 1, -2, 2, ... -> 0, 1, 2, 3, 4, ... */
    const unsigned half = (levels - 1) >> 1;
    for (unsigned d = 0; d < levels; d++) {
        f->zigzag[d] = (uint8_t)(d <= half ? d << 1 : ((levels - 1 - d) << 1) + 1);
    }
}

/* Context buckets grow geometrically: {0}, {1,2}, {3..6}, {7..14}, ...; the
   last bucket absorbs what would be a bucket larger than the remainder. */
static void buckets_init(uint8_t *bucket_of, uint8_t *first, uint16_t *count, unsigned levels)
{
    unsigned start = 0, size = 1, b = 0;
    for (;;) {
        unsigned end = start + size - 1;
        if (end + size >= levels) end = levels - 1;
        for (unsigned v = start; v <= end; v++) bucket_of[v] = (uint8_t)b;
        first[b] = (uint8_t)start;
        count[b] = (uint16_t)(end + 1 - start);
        if (end == levels - 1) break;
        start = end + 1;
        size *= 2;
        b++;
    }
}

static volatile int tables_ready;

void spice_quic_init(void)
{
    if (tables_ready) return;
    family_init(&quic_tab.f8, 8);
    family_init(&quic_tab.f5, 5);
    buckets_init(quic_tab.bucket8, quic_tab.bucket_start8, quic_tab.bucket_size8, 256);
    buckets_init(quic_tab.bucket5, quic_tab.bucket_start5, quic_tab.bucket_size5, 32);
    tables_ready = 1;
}

int spice_quic_abi(void)
{
    return QUIC_ABI;
}

void spice_quic_free(void *p)
{
    free(p);
}
