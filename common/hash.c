// SPDX-License-Identifier: Apache-2.0
/* hash.c - FNV-1a, for naming cache entries that carry their own key */

#include "common/common.h"

uint64_t cmn_fnv1a64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
