// SPDX-License-Identifier: Apache-2.0
/* idmap.c - the uidmapping=/gidmapping= options: ids on disk <-> ids seen
 *
 * The format is fuse-overlayfs's: "C:H:N[:C:H:N...]", each triple mapping
 * N ids starting at C as seen through the mount to N ids starting at H as
 * stored in the layers. Ids outside every range show as the overflow id
 * 65534, and cannot be given to files.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse-overlay/ovl-internal.h"

#define OVL_OVERFLOW_ID 65534

int ovl_idmap_parse(const char *s, struct ovl_idmap *map)
{
	uint64_t v[3];
	const char *p = s;

	memset(map, 0, sizeof(*map));
	while (*p) {
		if (map->n == ARRAY_SIZE(map->r))
			return -E2BIG;
		for (int i = 0; i < 3; i++) {
			char num[24];
			size_t len = strcspn(p, ":");

			if (len == 0 || len >= sizeof(num))
				return -EINVAL;
			memcpy(num, p, len);
			num[len] = '\0';
			if (!cmn_parse_u64(num, UINT32_MAX, &v[i]))
				return -EINVAL;
			p += len;
			if (*p == ':')
				p++;
			else if (i < 2)
				return -EINVAL;
		}
		if (v[2] == 0 || v[0] + v[2] > (uint64_t)UINT32_MAX + 1 ||
		    v[1] + v[2] > (uint64_t)UINT32_MAX + 1)
			return -EINVAL;
		map->r[map->n].inner = (uint32_t)v[0];
		map->r[map->n].outer = (uint32_t)v[1];
		map->r[map->n].count = (uint32_t)v[2];
		map->n++;
	}
	return map->n ? 0 : -EINVAL;
}

uint32_t ovl_idmap_in(const struct ovl_idmap *map, uint32_t outer)
{
	if (map->n == 0)
		return outer;
	for (unsigned i = 0; i < map->n; i++) {
		if (outer >= map->r[i].outer &&
		    outer - map->r[i].outer < map->r[i].count)
			return map->r[i].inner + (outer - map->r[i].outer);
	}
	return OVL_OVERFLOW_ID;
}

uint32_t ovl_idmap_out(const struct ovl_idmap *map, uint32_t inner)
{
	if (map->n == 0)
		return inner;
	for (unsigned i = 0; i < map->n; i++) {
		if (inner >= map->r[i].inner &&
		    inner - map->r[i].inner < map->r[i].count)
			return map->r[i].outer + (inner - map->r[i].inner);
	}
	return (uint32_t)-1;
}
