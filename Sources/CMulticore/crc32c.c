#define _GNU_SOURCE
#include "CMulticore.h"

#include <string.h>

// CRC-32C (Castagnoli), the frame checksum, on the fastest path the CPU has: carry-less
// multiplication folding beside the crc32 instruction (crc32c_folding.c) for 4 KiB and more where
// it has VPCLMULQDQ, else the crc32 instruction in three streams (below), else tables.

#include "crc32c_kernels.h"
#include "crc32c_tables.h"

// The fastest path this CPU has (MC_CRC32C_TABLE, _THREE_STREAMS or _FOLDING).
static int mc_crc32c_fastest;

// From this length on, folding (crc32c_folding.c) beats the three streams: below it, the shifts
// that join its parts (about 100 ns) cost more than it saves.
#define MC_CRC32C_FOLDING_MIN 4096

// The crc32 instruction takes 3 cycles and can start one every cycle: three streams over three
// blocks, joined by shifting a block's CRC over the zeros of the next ones (the tables of
// crc32c_tables.h, made by Scripts/gen-crc32c-tables.py as in Mark Adler's crc32c.c), run about
// three times as fast as one stream (8 MB: about 1.7 ms -> 0.6 ms on an idle machine here). The
// tables are constants: made at start-up they cost every process, a worker's too, about 150 us.

static inline uint32_t mc_crc32c_shift(const uint32_t zeros[4][256], uint32_t crc) {
    return zeros[0][crc & 0xFF] ^ zeros[1][(crc >> 8) & 0xFF] ^ zeros[2][(crc >> 16) & 0xFF] ^ zeros[3][crc >> 24];
}

// Priority 101: before the worker bootstrap (a default-priority constructor in bootstrap.c), which
// runs a whole worker, frames and their checksums included, before returning.
__attribute__((constructor(101))) static void mc_crc32c_init(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        mc_crc32c_fastest = MC_CRC32C_THREE_STREAMS;
        // avx2 is only reported when the system saves the 256-bit registers.
        if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq"))
            mc_crc32c_fastest = MC_CRC32C_FOLDING;
    }
#endif
}

#if defined(__x86_64__)
// Three streams over three consecutive blocks of `block` bytes each, while at least that many
// are left; the register (not inverted) in and out.
__attribute__((target("sse4.2"))) static inline uint64_t mc_crc32c_hw_blocks(
    const uint8_t **data, size_t *length, uint64_t crc, size_t block, const uint32_t zeros[4][256]) {
    const uint8_t *p = *data;
    size_t n = *length;
    while (n >= 3 * block) {
        uint64_t crc1 = 0, crc2 = 0;
        const uint8_t *end = p + block;
        do {
            uint64_t a, b, c;
            __builtin_memcpy(&a, p, 8);
            __builtin_memcpy(&b, p + block, 8);
            __builtin_memcpy(&c, p + 2 * block, 8);
            crc = __builtin_ia32_crc32di(crc, a);
            crc1 = __builtin_ia32_crc32di(crc1, b);
            crc2 = __builtin_ia32_crc32di(crc2, c);
            p += 8;
        } while (p < end);
        crc = mc_crc32c_shift(zeros, (uint32_t)crc) ^ (uint32_t)crc1;
        crc = mc_crc32c_shift(zeros, (uint32_t)crc) ^ (uint32_t)crc2;
        p += 2 * block;
        n -= 3 * block;
    }
    *data = p;
    *length = n;
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t mc_crc32c_hw(const uint8_t *p, size_t n, uint32_t crc) {
    uint64_t c = crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    c = mc_crc32c_hw_blocks(&p, &n, c, MC_CRC32C_LONG, mc_crc32c_long);
    c = mc_crc32c_hw_blocks(&p, &n, c, MC_CRC32C_SHORT, mc_crc32c_short);
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
#if defined(__x86_64__)
    if (mc_crc32c_fastest == MC_CRC32C_FOLDING && length >= MC_CRC32C_FOLDING_MIN)
        return ~mc_crc32c_folding(data, length, ~seed);
    if (mc_crc32c_fastest != MC_CRC32C_TABLE) return ~mc_crc32c_hw(data, length, ~seed);
#endif
    return mc_crc32c_portable(data, length, seed);
}

int mc_crc32c_fastest_path(void) {
    return mc_crc32c_fastest;
}

uint32_t mc_crc32c_on_path(int path, const void *data, size_t length, uint32_t seed) {
    if (path > mc_crc32c_fastest) path = mc_crc32c_fastest;
#if defined(__x86_64__)
    if (path == MC_CRC32C_FOLDING) return ~mc_crc32c_folding(data, length, ~seed);
    if (path == MC_CRC32C_THREE_STREAMS) return ~mc_crc32c_hw(data, length, ~seed);
#endif
    return mc_crc32c_portable(data, length, seed);
}

uint32_t mc_crc32c_portable(const void *data, size_t length, uint32_t seed) {
    const uint8_t *p = data;
    uint32_t crc = ~seed;
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
