// The CRC-32C kernels behind mc_crc32c (crc32c.c), each in a file of its own: each takes and
// returns the CRC register (the checksum inverted).
#pragma once
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
// Carry-less multiplication folding beside three crc32 streams (crc32c_folding.c): for CPUs with
// SSE 4.2, PCLMULQDQ, AVX2 and VPCLMULQDQ.
__attribute__((visibility("hidden"))) uint32_t mc_crc32c_folding(const uint8_t *data, size_t length, uint32_t crc);
#endif
