#define _GNU_SOURCE
#include "CMulticore.h"

// CRC-32C (Castagnoli), the frame checksum: with the CPU's instruction where it has one.

static uint32_t mc_crc32c_table[8][256];
static int mc_crc32c_have_sse42;

// Priority 101: before the worker bootstrap (a default-priority constructor in bootstrap.c), which
// runs a whole worker, frames and their checksums included, before returning.
__attribute__((constructor(101))) static void mc_crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int j = 0; j < 8; j++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        mc_crc32c_table[0][i] = crc;
    }
    for (int t = 1; t < 8; t++)
        for (uint32_t i = 0; i < 256; i++)
            mc_crc32c_table[t][i] = (mc_crc32c_table[t - 1][i] >> 8) ^ mc_crc32c_table[0][mc_crc32c_table[t - 1][i] & 0xFF];
#if defined(__x86_64__)
    __builtin_cpu_init();
    mc_crc32c_have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t mc_crc32c_hw(const uint8_t *p, size_t n, uint32_t crc) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t mc_crc32c(const void *data, size_t length, uint32_t seed) {
    const uint8_t *p = data;
    uint32_t crc = ~seed;
#if defined(__x86_64__)
    if (mc_crc32c_have_sse42) return ~mc_crc32c_hw(p, length, crc);
#endif
    while (length >= 8) {
        uint32_t low, high;
        __builtin_memcpy(&low, p, 4);
        __builtin_memcpy(&high, p + 4, 4);
        low ^= crc;
        crc = mc_crc32c_table[7][low & 0xFF] ^ mc_crc32c_table[6][(low >> 8) & 0xFF] ^
              mc_crc32c_table[5][(low >> 16) & 0xFF] ^ mc_crc32c_table[4][low >> 24] ^
              mc_crc32c_table[3][high & 0xFF] ^ mc_crc32c_table[2][(high >> 8) & 0xFF] ^
              mc_crc32c_table[1][(high >> 16) & 0xFF] ^ mc_crc32c_table[0][high >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) crc = (crc >> 8) ^ mc_crc32c_table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}
