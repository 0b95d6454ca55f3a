// SPDX-License-Identifier: Apache-2.0
/* bpfcache.c - compiled seccomp programs kept in the runtime directory
 *
 * libseccomp needs several milliseconds to build and optimise a filter for
 * three architectures: a third of a container's start-up. The result only
 * depends on the hutch binary, the kernel (some rules unlock on kernel
 * versions), the capability set and the profile, so it is kept in
 * $HUTCH_RUNTIME/bpf/<hash> and reused. Each entry stores its whole key and
 * is used only when the key matches byte for byte, so a hash collision or a
 * stale entry costs a compile, never a wrong filter. Entries are written to
 * a temporary name and renamed, and the directory is checked to be private
 * (cmn_runtime_dir_open()) before anything in it is trusted.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define MAGIC	    "hutch-bpf-1\n"
#define MAX_PROFILE (1 << 20)

/* The key: everything the compiled program depends on. */
static char *make_key(const char *profile, uint64_t caps, size_t *len)
{
	cleanup_free char *text = NULL;
	struct stat exe;
	struct utsname u;
	size_t tlen = 0;
	char *key;
	int n;

	if (stat("/proc/self/exe", &exe) < 0 || uname(&u) < 0)
		return NULL;
	if (profile) {
		text = cmn_read_fileat(AT_FDCWD, profile, MAX_PROFILE, &tlen);
		if (!text)
			return NULL;
	}
	n = asprintf(
		&key,
		MAGIC
		"exe %lu:%lu:%lld:%lld.%ld\nkernel %s\ncaps %llx\nprofile %s\n",
		(unsigned long)exe.st_dev, (unsigned long)exe.st_ino,
		(long long)exe.st_size, (long long)exe.st_mtim.tv_sec,
		exe.st_mtim.tv_nsec, u.release, (unsigned long long)caps,
		profile ? "file" : "default");
	if (n < 0)
		return NULL;
	if (text) {
		char *more = realloc(key, n + tlen + 1);

		if (!more) {
			free(key);
			return NULL;
		}
		memcpy(more + n, text, tlen + 1);
		key = more;
		n += tlen;
	}
	*len = n;
	return key;
}

static char *entry_path(const char *dir, const char *key, size_t len)
{
	return cmn_strdup_printf(
		"%s/bpf/%016llx", dir,
		(unsigned long long)cmn_fnv1a64(CMN_FNV_INIT, key, len));
}

/* The entry: the key's length (8 bytes), the key, the instructions. */
static int load(const char *path, const char *key, size_t klen,
		struct sbx_bpf *out)
{
	size_t len = 0, off = sizeof(uint64_t) + klen;
	cleanup_free char *data =
		cmn_read_fileat(AT_FDCWD, path, 4 << 20, &len);
	uint64_t stored;

	if (!data || len < off)
		return -ENOENT;
	memcpy(&stored, data, sizeof(stored));
	if (stored != klen || memcmp(data + sizeof(stored), key, klen) ||
	    (len - off) % sizeof(struct sock_filter) || len == off)
		return -ENOENT;
	out->len = (len - off) / sizeof(struct sock_filter);
	out->insns = malloc(len - off);
	if (!out->insns)
		return -ENOMEM;
	memcpy(out->insns, data + off, len - off);
	return 0;
}

static void store(const char *dir, const char *path, const char *key,
		  size_t klen, const struct sbx_bpf *bpf)
{
	cleanup_free char *sub = cmn_strdup_printf("%s/bpf", dir);
	cleanup_free char *tmp = cmn_strdup_printf("%s.XXXXXX", path);
	uint64_t stored = klen;
	cleanup_close int fd = -1;

	if (!sub || !tmp || (mkdir(sub, 0700) < 0 && errno != EEXIST))
		return;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return;
	if (cmn_write_all(fd, &stored, sizeof(stored)) < 0 ||
	    cmn_write_all(fd, key, klen) < 0 ||
	    cmn_write_all(fd, bpf->insns, bpf->len * sizeof(*bpf->insns)) < 0 ||
	    rename(tmp, path) < 0)
		unlink(tmp);
}

int sbx_seccomp_compile_cached(const char *profile, uint64_t caps,
			       struct sbx_bpf *out, struct hutch_err *err)
{
	cleanup_free char *dir = cmn_runtime_dir_open(NULL);
	cleanup_free char *key = NULL;
	cleanup_free char *path = NULL;
	size_t klen = 0;
	int ret;

	if (dir)
		key = make_key(profile, caps, &klen);
	if (key)
		path = entry_path(dir, key, klen);
	if (path && load(path, key, klen, out) == 0)
		return 0;
	ret = sbx_seccomp_compile(profile, caps, out, err);
	if (ret == 0 && path)
		store(dir, path, key, klen, out);
	return ret;
}
