// SPDX-License-Identifier: Apache-2.0
/* caps.c - the container's capability sets (Docker's defaults, --cap-add,
 * --cap-drop), with libcap for names and for capset(2).
 *
 * Inside a user namespace the container's root holds capabilities only over
 * that namespace, but they still matter (CAP_SYS_ADMIN there allows mounts
 * and, with them, a much larger kernel attack surface), so we keep Docker's
 * set: a container behaves as users expect and no more.
 */

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "sandbox/sandbox-internal.h"

#define BIT(n) (1ULL << (n))

uint64_t sbx_caps_default(void)
{
	return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) |
	       BIT(CAP_FSETID) | BIT(CAP_KILL) | BIT(CAP_SETGID) |
	       BIT(CAP_SETUID) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
	       BIT(CAP_NET_RAW) | BIT(CAP_SYS_CHROOT) | BIT(CAP_MKNOD) |
	       BIT(CAP_AUDIT_WRITE) | BIT(CAP_SETFCAP);
}

/* The highest capability this kernel knows (libcap asks the kernel). */
static unsigned int last_cap(void)
{
	int n = cap_max_bits();

	return n > 0 && n <= 64 ? (unsigned int)n - 1 : CAP_LAST_CAP;
}

bool sbx_cap_parse(const char *name, uint64_t *mask)
{
	char lower[64] = "cap_";
	size_t off = 4;
	cap_value_t v;

	if (!strcasecmp(name, "ALL") || !strcasecmp(name, "CAP_ALL")) {
		unsigned int last = last_cap();

		*mask = last >= 63 ? ~0ULL : BIT(last + 1) - 1;
		return true;
	}
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	if (strlen(name) + off >= sizeof(lower) || !*name)
		return false;
	for (const char *p = name; *p; p++)
		lower[off++] = (char)tolower((unsigned char)*p);
	lower[off] = '\0';
	if (cap_from_name(lower, &v) < 0 || v < 0 || v > 63)
		return false;
	*mask = BIT(v);
	return true;
}

static int set_flags(cap_t c, uint64_t caps)
{
	static const cap_flag_t sets[] = { CAP_EFFECTIVE, CAP_PERMITTED,
					   CAP_INHERITABLE };
	unsigned int last = last_cap();

	for (unsigned int i = 0; i <= last; i++) {
		cap_value_t v = (cap_value_t)i;

		if (!(caps & BIT(i)))
			continue;
		for (size_t s = 0; s < ARRAY_SIZE(sets); s++)
			if (cap_set_flag(c, sets[s], 1, &v, CAP_SET) < 0)
				return -errno;
	}
	return 0;
}

/* After setresuid() away from 0 with PR_SET_KEEPCAPS the kernel empties
 * the effective set but keeps the permitted one: raise it again so that
 * the bounding set can be cut (which needs CAP_SETPCAP). */
/* Add every permitted capability to @flag's set (effective, inheritable). */
static int permitted_into(cap_flag_t flag)
{
	cap_t c = cap_get_proc();
	cap_value_t all[64];
	int n = 0, ret = 0;

	if (!c)
		return -errno;
	for (unsigned int i = 0; i <= last_cap(); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(c, (cap_value_t)i, CAP_PERMITTED, &v) == 0 &&
		    v == CAP_SET)
			all[n++] = (cap_value_t)i;
	}
	if (n &&
	    (cap_set_flag(c, flag, n, all, CAP_SET) < 0 || cap_set_proc(c) < 0))
		ret = -errno;
	cap_free(c);
	return ret;
}

int sbx_caps_apply(uint64_t caps, uid_t uid)
{
	unsigned int last = last_cap();
	cap_t c;
	int ret = permitted_into(CAP_EFFECTIVE);

	for (unsigned int i = 0; ret == 0 && i <= last; i++)
		if (!(caps & BIT(i)) &&
		    prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			ret = -errno;
	if (ret < 0)
		return ret;
	c = cap_init();
	if (!c)
		return -errno;
	ret = uid == 0 ? set_flags(c, caps) : 0;
	if (ret == 0 && cap_set_proc(c) < 0)
		ret = -errno;
	cap_free(c);
	if (ret == 0 &&
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		ret = -errno;
	return ret;
}

int sbx_caps_keep_only(uint64_t caps)
{
	static const cap_flag_t sets[] = { CAP_EFFECTIVE, CAP_PERMITTED };
	cap_t c = cap_init();
	int ret = 0;

	if (!c)
		return -errno;
	for (unsigned int i = 0; i <= last_cap() && ret == 0; i++) {
		cap_value_t v = (cap_value_t)i;

		for (size_t s = 0; s < ARRAY_SIZE(sets) && (caps & BIT(i)); s++)
			if (cap_set_flag(c, sets[s], 1, &v, CAP_SET) < 0)
				ret = -errno;
	}
	if (ret == 0 && cap_set_proc(c) < 0)
		ret = -errno;
	cap_free(c);
	return ret;
}

int sbx_caps_keep_over_exec(void)
{
	unsigned int last = last_cap();
	int ret = permitted_into(CAP_INHERITABLE);

	/* Only what is permitted and inheritable can be raised: EPERM for
	 * the rest is expected. */
	for (unsigned int i = 0; i <= last && ret == 0; i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0 &&
		    errno != EPERM)
			ret = -errno;
	return ret;
}
