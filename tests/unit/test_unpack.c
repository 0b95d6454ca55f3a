// SPDX-License-Identifier: Apache-2.0
/* test_unpack.c - unit tests for image/unpack.c: layer tars made here with
 * libarchive's writer, unpacked into a temporary directory, hostile ones
 * refused; after every test nothing may exist outside the destination.
 *
 * Tests that need a user namespace (whiteout devices, chown) run in a
 * forked child that maps its own id to 0, as an unprivileged user can.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/common.h"
#include "image/image.h"
#include "image/unpack-internal.h"

#define MTIME 1600000000

/* ---- the test's directories ---------------------------------------------- */

struct env {
	char base[64];	   /* holds dest/ and outside/, nothing else */
	char outside[128]; /* a host directory escapes would reach */
	int dest;
	struct hutch_err err;
	struct img_digest diff_id;
	uint64_t size;
};

static int setup(void **state)
{
	struct env *env = calloc(1, sizeof(*env));
	char path[PATH_MAX + 8];

	assert_non_null(env);
	strcpy(env->base, "/tmp/hutch-unpack-XXXXXX");
	assert_non_null(mkdtemp(env->base));
	snprintf(env->outside, sizeof(env->outside), "%s/outside", env->base);
	assert_int_equal(mkdir(env->outside, 0755), 0);
	snprintf(path, sizeof(path), "%s/dest", env->base);
	assert_int_equal(mkdir(path, 0755), 0);
	env->dest = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(env->dest >= 0);
	*state = env;
	return 0;
}

static int count_entries(const char *path, const char *allowed1,
			 const char *allowed2)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((allowed1 && !strcmp(de->d_name, allowed1)) ||
		    (allowed2 && !strcmp(de->d_name, allowed2)))
			continue;
		fprintf(stderr, "unexpected %s/%s\n", path, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int chmod_cb(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && !S_ISLNK(st->st_mode))
		chmod(path, 0700);
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, chmod_cb, 16, FTW_PHYS);
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Nothing but dest/ and an empty outside/ may be left beside the layer. */
static int teardown(void **state)
{
	struct env *env = *state;

	assert_int_equal(count_entries(env->base, "dest", "outside"), 0);
	assert_int_equal(count_entries(env->outside, NULL, NULL), 0);
	close(env->dest);
	rm_rf(env->base);
	free(env);
	return 0;
}

/* ---- making tars ---------------------------------------------------------- */

/* One entry: the type is in @mode; @data is a file's content, a symlink's
 * target or (with @hard) a hardlink's target. */
struct ent {
	const char *path;
	mode_t mode;
	const char *data;
	bool hard;
	int64_t uid, gid;
	unsigned maj, min;
	const char *xname, *xvalue; /* one extended attribute */
	size_t xlen;		    /* its length, 0: strlen(xvalue) */
	time_t mtime;		    /* 0: MTIME */
};

static int memfd(void)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void add_entry(struct archive *a, const struct ent *x)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = x->data && !x->hard ? strlen(x->data) : 0;

	archive_entry_set_pathname(e, x->path);
	archive_entry_set_mode(e, x->mode);
	archive_entry_set_uid(e, x->uid);
	archive_entry_set_gid(e, x->gid);
	archive_entry_set_mtime(e, x->mtime ? x->mtime : MTIME, 0);
	if (x->hard) {
		archive_entry_set_hardlink(e, x->data);
	} else if (S_ISLNK(x->mode)) {
		archive_entry_set_symlink(e, x->data);
		len = 0;
	} else if (S_ISCHR(x->mode) || S_ISBLK(x->mode)) {
		archive_entry_set_rdevmajor(e, x->maj);
		archive_entry_set_rdevminor(e, x->min);
	}
	if (x->xname)
		archive_entry_xattr_add_entry(e, x->xname, x->xvalue,
					      x->xlen ? x->xlen
						      : strlen(x->xvalue));
	archive_entry_set_size(e, S_ISREG(x->mode) ? (la_int64_t)len : 0);
	/* WARN: a name that is not UTF-8, stored as it is. */
	assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
	if (len)
		assert_int_equal(archive_write_data(a, x->data, len),
				 (la_ssize_t)len);
	archive_entry_free(e);
}

/* compress() - @plain (a memfd) through @filter ("gzip", "zstd"). */
static int compress(int plain, const char *filter)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct stat st;
	int fd = memfd();
	char *buf;

	assert_int_equal(fstat(plain, &st), 0);
	buf = malloc(st.st_size + 1);
	assert_int_equal(pread(plain, buf, st.st_size, 0), st.st_size);
	archive_write_set_format_raw(a);
	assert_int_equal(archive_write_add_filter_by_name(a, filter),
			 ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_mode(e, S_IFREG | 0644);
	archive_entry_set_size(e, st.st_size);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, buf, st.st_size), st.st_size);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	free(buf);
	close(plain);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* sha256_fd() - the digest of a memfd's bytes, with OpenSSL directly. */
static void sha256_fd(int fd, struct img_digest *out, uint64_t *len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct stat st;
	void *p;

	assert_int_equal(fstat(fd, &st), 0);
	p = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0)
		       : NULL;
	assert_true(p != MAP_FAILED);
	assert_int_equal(EVP_Digest(p, st.st_size, md, &n, EVP_sha256(), NULL),
			 1);
	for (unsigned int i = 0; i < 32; i++) {
		out->hex[2 * i] = hex[md[i] >> 4];
		out->hex[2 * i + 1] = hex[md[i] & 15];
	}
	out->hex[64] = '\0';
	*len = st.st_size;
	if (p)
		munmap(p, st.st_size);
}

/*
 * make_tar() - a pax tar of @n entries, through @filter (NULL: plain);
 * @sha and @len (may be NULL) get the digest and size of the plain tar.
 */
static int make_tar_ex(const struct ent *ents, size_t n, const char *filter,
		       struct img_digest *sha, uint64_t *len)
{
	struct archive *a = archive_write_new();
	int fd = memfd();
	struct img_digest d;
	uint64_t l;

	archive_write_set_format_pax_restricted(a);
	/* Pad to a full 10 KiB block, as tar(1) does: the diff_id must
	 * cover the padding after the end marker too. */
	archive_write_set_bytes_in_last_block(a, 10240);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		add_entry(a, &ents[i]);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	sha256_fd(fd, sha ? sha : &d, len ? len : &l);
	if (filter)
		return compress(fd, filter);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int make_tar(const struct ent *ents, size_t n)
{
	return make_tar_ex(ents, n, NULL, NULL, NULL);
}

/* Each unpack starts from an empty directory, as the contract wants. */
static void reset_dest(struct env *env)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/dest", env->base);
	close(env->dest);
	rm_rf(path);
	assert_int_equal(mkdir(path, 0755), 0);
	env->dest = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(env->dest >= 0);
}

static int unpack_fd(struct env *env, int fd, bool keep_owner, bool oci)
{
	struct img_unpack_opts opts = { .keep_owner = keep_owner,
					.oci_whiteouts = oci };
	int ret;

	reset_dest(env);
	env->err.msg[0] = '\0';
	ret = img_unpack(fd, env->dest, &opts, &env->diff_id, &env->size,
			 &env->err);
	close(fd);
	if (ret < 0)
		fprintf(stderr, "# img_unpack: %s\n", env->err.msg);
	return ret;
}

static int unpack(struct env *env, const struct ent *ents, size_t n)
{
	return unpack_fd(env, make_tar(ents, n), false, false);
}

/* ---- looking at the result ------------------------------------------------ */

static struct stat lstat_in(const struct env *env, const char *path)
{
	struct stat st;

	if (fstatat(env->dest, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		fail();
	}
	return st;
}

static bool exists_in(const struct env *env, const char *path)
{
	struct stat st;

	return fstatat(env->dest, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void assert_content(const struct env *env, const char *path,
			   const char *want)
{
	int fd = openat(env->dest, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[4096];
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void assert_link(const struct env *env, const char *path,
			const char *want)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(env->dest, path, buf, sizeof(buf) - 1);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void assert_err_has(const struct env *env, const char *needle)
{
	if (!strstr(env->err.msg, needle)) {
		fprintf(stderr, "# message \"%s\" lacks \"%s\"\n", env->err.msg,
			needle);
		fail();
	}
}

/* ---- a normal tree, three compressions ------------------------------------ */

static const struct ent tree[] = {
	{ .path = "./", .mode = S_IFDIR | 0755 },
	{ .path = "./bin/", .mode = S_IFDIR | 0755, .mtime = 1500000000 },
	{ .path = "./bin/tool", .mode = S_IFREG | 0755, .data = "#!/bin/sh\n" },
	{ .path = "./etc/", .mode = S_IFDIR | 0750 },
	{ .path = "./etc/conf", .mode = S_IFREG | 0640, .data = "a=1\n" },
	{ .path = "./etc/ro", .mode = S_IFREG | 0444, .data = "ro" },
	{ .path = "./etc/empty", .mode = S_IFREG | 0600, .data = "" },
	{ .path = "./etc/link", .mode = S_IFLNK | 0777, .data = "conf" },
	{ .path = "./etc/abs", .mode = S_IFLNK | 0777, .data = "/etc/passwd" },
	{ .path = "./etc/hard",
	  .mode = S_IFREG | 0640,
	  .data = "etc/conf",
	  .hard = true },
	{ .path = "./run/", .mode = S_IFDIR | 0755 },
	{ .path = "./run/fifo", .mode = S_IFIFO | 0620 },
	{ .path = "./sticky/", .mode = S_IFDIR | 01777 },
	{ .path = "./deep/a/b/c/file", .mode = S_IFREG | 0644, .data = "deep" },
	{ .path = "./rodir/", .mode = S_IFDIR | 0555 },
	{ .path = "./rodir/inside", .mode = S_IFREG | 0644, .data = "in" },
};

static void check_tree(const struct env *env)
{
	struct stat st = lstat_in(env, "bin/tool"), st2;

	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtime, MTIME);
	assert_content(env, "bin/tool", "#!/bin/sh\n");
	st = lstat_in(env, "bin");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mtime, 1500000000);
	st = lstat_in(env, "etc");
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_mtime, MTIME);
	assert_int_equal(lstat_in(env, "etc/ro").st_mode & 07777, 0444);
	assert_int_equal(lstat_in(env, "etc/empty").st_size, 0);
	assert_link(env, "etc/link", "conf");
	assert_link(env, "etc/abs", "/etc/passwd");
	assert_int_equal(lstat_in(env, "etc/abs").st_mtime, MTIME);
	st = lstat_in(env, "etc/conf");
	st2 = lstat_in(env, "etc/hard");
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(st.st_nlink, 2);
	st = lstat_in(env, "run/fifo");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0620);
	assert_int_equal(st.st_mtime, MTIME);
	assert_int_equal(lstat_in(env, "sticky").st_mode & 07777, 01777);
	assert_content(env, "deep/a/b/c/file", "deep");
	assert_true(S_ISDIR(lstat_in(env, "deep/a/b").st_mode));
	assert_int_equal(lstat_in(env, "rodir").st_mode & 07777, 0555);
	assert_content(env, "rodir/inside", "in");
}

static void tree_with(void **state, const char *filter)
{
	struct env *env = *state;
	struct img_digest want;
	uint64_t len;
	int fd = make_tar_ex(tree, ARRAY_SIZE(tree), filter, &want, &len);

	assert_int_equal(unpack_fd(env, fd, false, false), 0);
	check_tree(env);
	/* The diff_id covers the whole plain tar, end padding included. */
	assert_string_equal(env->diff_id.hex, want.hex);
	assert_int_equal(env->size, len);
	assert_int_equal(len % 10240, 0);
}

static void tree_plain(void **state)
{
	tree_with(state, NULL);
}

static void tree_gzip(void **state)
{
	tree_with(state, "gzip");
}

static void tree_zstd(void **state)
{
	tree_with(state, "zstd");
}

/* The diff_id against coreutils' sha256sum of the uncompressed tar. */
static void diff_id_is_sha256sum(void **state)
{
	struct env *env = *state;
	char path[PATH_MAX + 16], cmd[PATH_MAX + 64], line[256] = "";
	int plain = make_tar(tree, ARRAY_SIZE(tree)), fd;
	struct stat st;
	char *buf;
	FILE *p;

	assert_int_equal(fstat(plain, &st), 0);
	buf = malloc(st.st_size);
	assert_int_equal(pread(plain, buf, st.st_size, 0), st.st_size);
	snprintf(path, sizeof(path), "%s/outside/layer.tar", env->base);
	assert_int_equal(
		cmn_write_fileat(AT_FDCWD, path, buf, st.st_size, 0600), 0);
	free(buf);
	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	unlink(path);
	line[64] = '\0';
	fd = compress(plain, "gzip");
	assert_int_equal(unpack_fd(env, fd, false, false), 0);
	assert_string_equal(env->diff_id.hex, line);
}

/* An empty blob and a tar of only its end marker are empty layers. */
static void empty_layers(void **state)
{
	struct env *env = *state;
	char zeros[1024] = { 0 };
	int fd = memfd();

	assert_int_equal(unpack_fd(env, memfd(), false, false), 0);
	assert_int_equal(env->size, 0);
	assert_string_equal(
		env->diff_id.hex,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(write(fd, zeros, sizeof(zeros)), sizeof(zeros));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(unpack_fd(env, compress(fd, "gzip"), false, false), 0);
	assert_int_equal(env->size, 1024);
	assert_int_equal(count_entries(env->base, "dest", "outside"), 0);
}

/* Names that are not valid UTF-8 in the C locale survive byte for byte. */
static void raw_names(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "caf\xc3\xa9", .mode = S_IFREG | 0644, .data = "u" },
		{ .path = "bin\xe9", .mode = S_IFREG | 0644, .data = "b" },
	};

	assert_int_equal(unpack(env, ents, 2), 0);
	assert_content(env, "caf\xc3\xa9", "u");
	assert_content(env, "bin\xe9", "b");
}

/* A big file streams through; a sparse one keeps its hole. */
static void big_and_sparse(void **state)
{
	struct env *env = *state;
	size_t big = 5 * 1024 * 1024 + 17;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *data = malloc(big), *back = malloc(big);
	int fd = memfd(), in;
	struct stat st;

	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 4096);
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	archive_entry_set_pathname(e, "big");
	archive_entry_set_mode(e, S_IFREG | 0644);
	archive_entry_set_size(e, big);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, big), (la_ssize_t)big);
	archive_entry_clear(e);
	/* 8 MiB with 4 KiB of data in the middle. */
	archive_entry_set_pathname(e, "sparse");
	archive_entry_set_mode(e, S_IFREG | 0644);
	archive_entry_set_size(e, 8 << 20);
	archive_entry_sparse_add_entry(e, 4 << 20, 4096);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	/* The writer takes the logical content and drops the holes. */
	memset(back, 0, 4 << 20);
	memcpy(back + (4 << 20), data, 4096);
	assert_int_equal(archive_write_data(a, back, (4 << 20) + 4096),
			 (4 << 20) + 4096);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(unpack_fd(env, fd, false, false), 0);
	in = openat(env->dest, "big", O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	assert_int_equal(cmn_read_all(in, back, big), (ssize_t)big);
	close(in);
	assert_memory_equal(data, back, big);
	st = lstat_in(env, "sparse");
	assert_int_equal(st.st_size, 8 << 20);
	/* The hole stays a hole (ext4 and tmpfs both keep it). */
	assert_true(st.st_blocks * 512 < (1 << 20));
	in = openat(env->dest, "sparse", O_RDONLY | O_CLOEXEC);
	assert_int_equal(pread(in, back, 4096, 4 << 20), 4096);
	assert_memory_equal(back, data, 4096);
	assert_int_equal(pread(in, back, 16, 0), 16);
	assert_memory_equal(back, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	close(in);
	free(data);
	free(back);
}

/* Modes come out exact whatever the umask (files are created with their
 * mode only when the umask would not change it). */
static void umask_ignored(void **state)
{
	struct env *env = *state;
	mode_t old = umask(077);
	int ret = unpack(env, tree, ARRAY_SIZE(tree));

	umask(old);
	assert_int_equal(ret, 0);
	check_tree(env);
	old = umask(0);
	ret = unpack(env, tree, ARRAY_SIZE(tree));
	umask(old);
	assert_int_equal(ret, 0);
	check_tree(env);
}

/* A hardlink may name its target through an in-layer symlink. */
static void hardlink_via_symlink(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "d/f", .mode = S_IFREG | 0644, .data = "f" },
		{ .path = "l", .mode = S_IFLNK | 0777, .data = "/d" },
		{ .path = "h",
		  .mode = S_IFREG | 0644,
		  .data = "l/f",
		  .hard = true },
		{ .path = "ll", .mode = S_IFLNK | 0777, .data = "d/f" },
		{ .path = "hl",
		  .mode = S_IFREG | 0644,
		  .data = "ll",
		  .hard = true },
	};

	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), 0);
	assert_int_equal(lstat_in(env, "h").st_ino,
			 lstat_in(env, "d/f").st_ino);
	/* A link to a symlink links the symlink, not what it names. */
	assert_int_equal(lstat_in(env, "hl").st_ino,
			 lstat_in(env, "ll").st_ino);
}

/* ---- hostile names -------------------------------------------------------- */

static void dotdot_refused(void **state)
{
	struct env *env = *state;
	static const char *const bad[] = { "../x", "a/../../x", "a/..",
					   "./../outside/x", "/../x" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct ent ents[] = {
			{ .path = "ok", .mode = S_IFREG | 0644, .data = "1" },
			{ .path = bad[i], .mode = S_IFREG | 0644, .data = "x" },
		};

		assert_int_equal(unpack(env, ents, 2), -EINVAL);
		assert_err_has(env, "contains \"..\"");
		assert_err_has(env, bad[i]);
	}
}

static void absolute_stripped(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "/abs/file", .mode = S_IFREG | 0644, .data = "a" },
		{ .path = "//two", .mode = S_IFREG | 0644, .data = "b" },
		{ .path = "./././dot", .mode = S_IFREG | 0644, .data = "c" },
		{ .path = "x//y/./z", .mode = S_IFREG | 0644, .data = "d" },
	};

	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), 0);
	assert_content(env, "abs/file", "a");
	assert_content(env, "two", "b");
	assert_content(env, "dot", "c");
	assert_content(env, "x/y/z", "d");
}

static void overlong_refused(void **state)
{
	struct env *env = *state;
	char comp[NAME_MAX + 2], *path = malloc(PATH_MAX + 16);

	memset(comp, 'c', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	{
		const struct ent ents[] = {
			{ .path = comp, .mode = S_IFREG | 0644, .data = "x" },
		};

		assert_int_equal(unpack(env, ents, 1), -ENAMETOOLONG);
	}
	for (size_t i = 0; i < PATH_MAX + 10; i += 2)
		memcpy(path + i, "d/", 2);
	path[PATH_MAX + 10] = '\0';
	{
		const struct ent ents[] = {
			{ .path = path, .mode = S_IFREG | 0644, .data = "x" },
		};

		assert_int_equal(unpack(env, ents, 1), -ENAMETOOLONG);
		assert_err_has(env, "longer than this system allows");
	}
	free(path);
}

static void root_entries(void **state)
{
	struct env *env = *state;
	const struct ent dir[] = { { .path = "/", .mode = S_IFDIR | 0700 } };
	const struct ent file[] = {
		{ .path = ".", .mode = S_IFREG | 0644, .data = "x" },
	};
	const struct ent link[] = {
		{ .path = ".", .mode = S_IFLNK | 0777, .data = "/" },
	};
	struct stat before, after;

	assert_int_equal(fstat(env->dest, &before), 0);
	assert_int_equal(unpack(env, dir, 1), 0);
	assert_int_equal(fstat(env->dest, &after), 0);
	assert_int_equal(before.st_mode, after.st_mode);
	assert_int_equal(unpack(env, file, 1), -EINVAL);
	assert_err_has(env, "layer's root");
	assert_int_equal(unpack(env, link, 1), -EINVAL);
}

/* ---- escapes through symlinks and hardlinks -------------------------------- */

static void symlink_then_write(void **state)
{
	struct env *env = *state;
	char inside[PATH_MAX + 16], escape[64];
	const struct ent ents[] = {
		{ .path = "link",
		  .mode = S_IFLNK | 0777,
		  .data = env->outside },
		{ .path = "link/file", .mode = S_IFREG | 0644, .data = "f" },
		{ .path = "up", .mode = S_IFLNK | 0777, .data = "../../.." },
		{ .path = escape, .mode = S_IFREG | 0644, .data = "e" },
		{ .path = "self", .mode = S_IFLNK | 0777, .data = "/" },
		{ .path = "self/via-root",
		  .mode = S_IFREG | 0644,
		  .data = "r" },
	};

	snprintf(escape, sizeof(escape), "up/hutch-unpack-escape-%d",
		 (int)getpid());
	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), 0);
	/* Written inside, at the path the link names, as the container
	 * will see it. */
	snprintf(inside, sizeof(inside), "%s/file", env->outside + 1);
	assert_content(env, inside, "f");
	assert_content(env, escape + 3, "e");
	assert_content(env, "via-root", "r");
	assert_link(env, "link", env->outside);
	/* Nowhere on the host: teardown checks outside/ and base/. */
	assert_int_equal(access(escape + 2, F_OK), -1);
	assert_int_equal(access("/hutch-unpack-escape", F_OK), -1);
}

static void symlink_loop(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "a", .mode = S_IFLNK | 0777, .data = "b" },
		{ .path = "b", .mode = S_IFLNK | 0777, .data = "a" },
		{ .path = "a/x", .mode = S_IFREG | 0644, .data = "x" },
	};

	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), -ELOOP);
	assert_err_has(env, "a/x");
}

static void hardlink_escapes(void **state)
{
	struct env *env = *state;
	struct stat before, after;
	char victim[PATH_MAX + 16];
	const struct ent host[] = {
		{ .path = "passwd",
		  .mode = S_IFREG | 0644,
		  .data = "/etc/passwd",
		  .hard = true },
	};
	const struct ent missing[] = {
		{ .path = "a", .mode = S_IFREG | 0644, .data = "a" },
		{ .path = "b",
		  .mode = S_IFREG | 0644,
		  .data = "nothere",
		  .hard = true },
	};
	const struct ent via_link[] = {
		{ .path = "l", .mode = S_IFLNK | 0777, .data = env->outside },
		{ .path = "h",
		  .mode = S_IFREG | 0644,
		  .data = victim,
		  .hard = true },
	};
	const struct ent dotdot[] = {
		{ .path = "h",
		  .mode = S_IFREG | 0644,
		  .data = "../x",
		  .hard = true },
	};
	const struct ent to_dir[] = {
		{ .path = "d/", .mode = S_IFDIR | 0755 },
		{ .path = "h",
		  .mode = S_IFREG | 0644,
		  .data = "d",
		  .hard = true },
	};

	assert_int_equal(stat("/etc/passwd", &before), 0);
	assert_int_equal(unpack(env, host, 1), -EINVAL);
	assert_err_has(env, "not a file earlier in this layer");
	assert_false(exists_in(env, "passwd"));
	assert_int_equal(stat("/etc/passwd", &after), 0);
	assert_int_equal(before.st_nlink, after.st_nlink);

	assert_int_equal(unpack(env, missing, 2), -EINVAL);
	assert_err_has(env, "nothere");

	/* A real host file, reached through an in-layer symlink. */
	snprintf(victim, sizeof(victim), "%s/victim", env->outside);
	assert_int_equal(cmn_write_fileat(AT_FDCWD, victim, "v", 1, 0644), 0);
	snprintf(victim, sizeof(victim), "l/victim");
	assert_int_equal(unpack(env, via_link, 2), -EINVAL);
	snprintf(victim, sizeof(victim), "%s/victim", env->outside);
	assert_int_equal(stat(victim, &after), 0);
	assert_int_equal(after.st_nlink, 1);
	unlink(victim);

	assert_int_equal(unpack(env, dotdot, 1), -EINVAL);
	assert_int_equal(unpack(env, to_dir, 2), -EINVAL);
}

static void devices_refused(void **state)
{
	struct env *env = *state;
	const struct ent chr[] = {
		{ .path = "dev/null",
		  .mode = S_IFCHR | 0666,
		  .maj = 1,
		  .min = 3 },
	};
	const struct ent blk[] = {
		{ .path = "dev/sda", .mode = S_IFBLK | 0660, .maj = 8 },
	};
	const struct ent chr_min[] = {
		{ .path = "dev/x", .mode = S_IFCHR | 0600, .min = 1 },
	};

	assert_int_equal(unpack(env, chr, 1), -EPERM);
	assert_err_has(env, "dev/null is a character device (1,3)");
	assert_false(exists_in(env, "dev/null"));
	assert_int_equal(unpack(env, blk, 1), -EPERM);
	assert_err_has(env, "block device (8,0)");
	assert_int_equal(unpack(env, chr_min, 1), -EPERM);
}

/* A pulled layer's device nodes: left out and counted, the rest written. */
static void devices_skipped(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "dev/null",
		  .mode = S_IFCHR | 0666,
		  .maj = 1,
		  .min = 3 },
		{ .path = "dev/sda", .mode = S_IFBLK | 0660, .maj = 8 },
		{ .path = "etc/kept", .mode = S_IFREG | 0644, .data = "kept" },
	};
	struct img_unpack_skips skips = { 0 };
	struct img_unpack_opts opts = { .skips = &skips };

	reset_dest(env);
	assert_int_equal(img_unpack(make_tar(ents, ARRAY_SIZE(ents)), env->dest,
				    &opts, &env->diff_id, &env->size,
				    &env->err),
			 0);
	assert_int_equal(skips.devices, 2);
	assert_string_equal(skips.first, "/dev/null");
	assert_false(exists_in(env, "dev/null"));
	assert_false(exists_in(env, "dev/sda"));
	assert_true(exists_in(env, "etc/kept"));
}

/* A stream larger than max_size (a decompression bomb) is refused as it
 * grows, and an exact fit is not. */
static void size_limit(void **state)
{
	struct env *env = *state;
	static char big[256 * 1024];
	const struct ent ents[] = {
		{ .path = "big", .mode = S_IFREG | 0644, .data = big },
	};
	struct img_unpack_opts opts = { 0 };
	struct img_digest d;
	uint64_t len;
	int fd;

	memset(big, 'z', sizeof(big) - 1);
	fd = make_tar_ex(ents, 1, "gzip", &d, &len);
	opts.max_size = len - 1;
	reset_dest(env);
	assert_int_equal(img_unpack(fd, env->dest, &opts, &env->diff_id,
				    &env->size, &env->err),
			 -EFBIG);
	assert_err_has(env, "unpacks to more than");
	close(fd);
	fd = make_tar_ex(ents, 1, "gzip", &d, &len);
	opts.max_size = len;
	reset_dest(env);
	assert_int_equal(img_unpack(fd, env->dest, &opts, &env->diff_id,
				    &env->size, &env->err),
			 0);
	assert_string_equal(env->diff_id.hex, d.hex);
	close(fd);
}

/* ---- replacement ------------------------------------------------------------ */

static void later_entries_win(void **state)
{
	struct env *env = *state;
	char victim[PATH_MAX + 16];
	const struct ent ents[] = {
		/* A file over a symlink must not write through it. */
		{ .path = "f", .mode = S_IFLNK | 0777, .data = victim },
		{ .path = "f", .mode = S_IFREG | 0600, .data = "new" },
		/* A file over a file: a hardlinked sibling keeps the old. */
		{ .path = "g", .mode = S_IFREG | 0644, .data = "old" },
		{ .path = "g2",
		  .mode = S_IFREG | 0644,
		  .data = "g",
		  .hard = true },
		{ .path = "g", .mode = S_IFREG | 0644, .data = "newer" },
		/* A file over a full directory, then a dir over a file. */
		{ .path = "d/sub/x", .mode = S_IFREG | 0644, .data = "x" },
		{ .path = "d/l", .mode = S_IFLNK | 0777, .data = env->outside },
		{ .path = "d", .mode = S_IFREG | 0644, .data = "was a dir" },
		{ .path = "e", .mode = S_IFREG | 0644, .data = "was a file" },
		{ .path = "e/", .mode = S_IFDIR | 0711 },
		{ .path = "e/in", .mode = S_IFREG | 0644, .data = "in" },
		/* A symlink over a directory, then writes resolve anew. */
		{ .path = "s/", .mode = S_IFDIR | 0755 },
		{ .path = "s/one", .mode = S_IFREG | 0644, .data = "1" },
		{ .path = "t/", .mode = S_IFDIR | 0755 },
		{ .path = "s", .mode = S_IFLNK | 0777, .data = "t" },
		{ .path = "s/two", .mode = S_IFREG | 0644, .data = "2" },
		/* A directory entry twice: the later mode wins. */
		{ .path = "m/", .mode = S_IFDIR | 0700 },
		{ .path = "m/", .mode = S_IFDIR | 0751 },
		/* A fifo and a symlink over files. */
		{ .path = "p", .mode = S_IFREG | 0644, .data = "p" },
		{ .path = "p", .mode = S_IFIFO | 0644 },
		{ .path = "q", .mode = S_IFREG | 0644, .data = "q" },
		{ .path = "q", .mode = S_IFLNK | 0777, .data = "p" },
		/* A hardlink to itself changes nothing. */
		{ .path = "g2",
		  .mode = S_IFREG | 0644,
		  .data = "g2",
		  .hard = true },
	};

	snprintf(victim, sizeof(victim), "%s/victim", env->outside);
	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), 0);
	assert_true(S_ISREG(lstat_in(env, "f").st_mode));
	assert_content(env, "f", "new");
	assert_content(env, "g", "newer");
	assert_content(env, "g2", "old");
	assert_content(env, "d", "was a dir");
	assert_int_equal(lstat_in(env, "e").st_mode & 07777, 0711);
	assert_content(env, "e/in", "in");
	assert_true(S_ISLNK(lstat_in(env, "s").st_mode));
	assert_content(env, "t/two", "2");
	assert_false(exists_in(env, "t/one"));
	assert_int_equal(lstat_in(env, "m").st_mode & 07777, 0751);
	assert_true(S_ISFIFO(lstat_in(env, "p").st_mode));
	assert_link(env, "q", "p");
}

static void setuid_cleared(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "su", .mode = S_IFREG | 04755, .data = "s" },
		{ .path = "sg", .mode = S_IFREG | 02755, .data = "s" },
		{ .path = "sgdir/", .mode = S_IFDIR | 02775 },
		{ .path = "sticky/", .mode = S_IFDIR | 01777 },
	};

	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), 0);
	assert_int_equal(lstat_in(env, "su").st_mode & 07777, 0755);
	assert_int_equal(lstat_in(env, "sg").st_mode & 07777, 0755);
	assert_int_equal(lstat_in(env, "sgdir").st_mode & 07777, 0775);
	assert_int_equal(lstat_in(env, "sticky").st_mode & 07777, 01777);
}

static void xattrs_filtered(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "f",
		  .mode = S_IFREG | 0444,
		  .data = "f",
		  .xname = "user.mime_type",
		  .xvalue = "text/plain" },
		{ .path = "forged/",
		  .mode = S_IFDIR | 0755,
		  .xname = "user.overlay.opaque",
		  .xvalue = "y" },
		{ .path = "t",
		  .mode = S_IFREG | 0644,
		  .data = "t",
		  .xname = "trusted.overlay.opaque",
		  .xvalue = "y" },
		{ .path = "d/",
		  .mode = S_IFDIR | 0755,
		  .xname = "user.note",
		  .xvalue = "dir" },
	};
	char buf[64];
	char path[PATH_MAX + 16];
	ssize_t n;

	assert_int_equal(unpack(env, ents, ARRAY_SIZE(ents)), 0);
	snprintf(path, sizeof(path), "%s/dest/f", env->base);
	n = lgetxattr(path, "user.mime_type", buf, sizeof(buf));
	if (n < 0 && errno == ENOTSUP)
		skip();
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "text/plain", 10);
	snprintf(path, sizeof(path), "%s/dest/d", env->base);
	assert_int_equal(lgetxattr(path, "user.note", buf, sizeof(buf)), 3);
	snprintf(path, sizeof(path), "%s/dest/forged", env->base);
	assert_int_equal(lgetxattr(path, "user.overlay.opaque", buf, 4), -1);
	assert_int_equal(errno, ENODATA);
}

/* ---- corrupt streams ---------------------------------------------------------- */

static int blob_fd(const char *data, size_t len)
{
	int fd = memfd();

	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* The bytes of @fd, and its length in *@len; owned. */
static char *slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size + 1);
	assert_int_equal(pread(fd, buf, st.st_size, 0), st.st_size);
	*len = st.st_size;
	close(fd);
	return buf;
}

static void truncated_gzip(void **state)
{
	struct env *env = *state;
	size_t len;
	char *gz = slurp(
		make_tar_ex(tree, ARRAY_SIZE(tree), "gzip", NULL, NULL), &len);

	assert_int_equal(unpack_fd(env, blob_fd(gz, len / 2), false, false),
			 -EBADMSG);
	assert_err_has(env, "corrupt or truncated");
	/* Without its 8-byte trailer (CRC and size). */
	assert_int_equal(unpack_fd(env, blob_fd(gz, len - 8), false, false),
			 -EBADMSG);
	free(gz);
}

static void corrupt_streams(void **state)
{
	struct env *env = *state;
	size_t len, zlen;
	char *tar = slurp(make_tar(tree, ARRAY_SIZE(tree)), &len);
	char *gz = slurp(
		make_tar_ex(tree, ARRAY_SIZE(tree), "gzip", NULL, NULL), &zlen);
	char junk[4096];
	char *hdr = memmem(tar, len, "./etc/conf", 11);

	/* A header whose checksum no longer matches. */
	assert_non_null(hdr);
	hdr[100] ^= 0x55;
	assert_int_equal(unpack_fd(env, blob_fd(tar, len), false, false),
			 -EBADMSG);
	/* Flipped bits in the deflate data: inflate or the CRC fails. */
	for (size_t i = 20; i < zlen - 8; i += 7)
		gz[i] ^= 0xa5;
	assert_int_equal(unpack_fd(env, blob_fd(gz, zlen), false, false),
			 -EBADMSG);
	/* Not a tar at all. */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	assert_int_equal(
		unpack_fd(env, blob_fd(junk, sizeof(junk)), false, false),
		-EBADMSG);
	/* A tar cut in the middle of a file's data. */
	assert_int_equal(
		unpack_fd(env, blob_fd(tar, 512 * 5 + 3), false, false),
		-EBADMSG);
	free(tar);
	free(gz);
}

/* ---- whiteouts ------------------------------------------------------------- */

static const struct ent whiteouts[] = {
	{ .path = "etc/", .mode = S_IFDIR | 0755 },
	{ .path = "etc/.wh.gone", .mode = S_IFREG | 0644, .data = "" },
	{ .path = "opq/", .mode = S_IFDIR | 0755 },
	{ .path = "opq/.wh..wh..opq", .mode = S_IFREG | 0644, .data = "" },
	{ .path = "opq/kept", .mode = S_IFREG | 0644, .data = "k" },
	{ .path = "implicit/.wh..wh..opq", .mode = S_IFREG | 0644, .data = "" },
	/* This layer's own file is not hidden by its own whiteout. */
	{ .path = "mine", .mode = S_IFREG | 0644, .data = "m" },
	{ .path = ".wh.mine", .mode = S_IFREG | 0644, .data = "" },
	/* NAME after its whiteout replaces it. */
	{ .path = ".wh.back", .mode = S_IFREG | 0644, .data = "" },
	{ .path = "back", .mode = S_IFREG | 0644, .data = "b" },
	/* aufs bookkeeping is skipped. */
	{ .path = ".wh..wh.plnk/", .mode = S_IFDIR | 0700 },
	{ .path = ".wh..wh.plnk/123.456", .mode = S_IFREG | 0644, .data = "" },
	/* An overlay whiteout in the tar already. */
	{ .path = "dev0", .mode = S_IFCHR | 0, .maj = 0, .min = 0 },
};

static bool is_whiteout(const struct env *env, const char *path)
{
	struct stat st = lstat_in(env, path);

	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

static void whiteouts_converted(void **state)
{
	struct env *env = *state;
	char path[PATH_MAX + 16], buf[4];

	if (!img_unpack_probe(env->dest))
		skip();
	assert_int_equal(unpack(env, whiteouts, ARRAY_SIZE(whiteouts)), 0);
	assert_true(is_whiteout(env, "etc/gone"));
	assert_false(exists_in(env, "etc/.wh.gone"));
	snprintf(path, sizeof(path), "%s/dest/opq", env->base);
	assert_int_equal(lgetxattr(path, "user.overlay.opaque", buf, 4), 1);
	assert_int_equal(buf[0], 'y');
	assert_false(exists_in(env, "opq/.wh..wh..opq"));
	assert_content(env, "opq/kept", "k");
	snprintf(path, sizeof(path), "%s/dest/implicit", env->base);
	assert_int_equal(lgetxattr(path, "user.overlay.opaque", buf, 4), 1);
	assert_content(env, "mine", "m");
	assert_content(env, "back", "b");
	assert_false(exists_in(env, ".wh..wh.plnk"));
	assert_true(is_whiteout(env, "dev0"));
}

static void whiteouts_kept_oci(void **state)
{
	struct env *env = *state;
	int fd = make_tar(whiteouts, ARRAY_SIZE(whiteouts));

	assert_int_equal(unpack_fd(env, fd, false, true), 0);
	assert_true(S_ISREG(lstat_in(env, "etc/.wh.gone").st_mode));
	assert_false(exists_in(env, "etc/gone"));
	assert_true(S_ISREG(lstat_in(env, "opq/.wh..wh..opq").st_mode));
	assert_true(S_ISREG(lstat_in(env, "implicit/.wh..wh..opq").st_mode));
	assert_content(env, "mine", "m");
	assert_true(exists_in(env, ".wh.mine"));
	assert_content(env, "back", "b");
	assert_false(exists_in(env, ".wh..wh.plnk"));
	/* A 0/0 device becomes its marker. */
	assert_false(exists_in(env, "dev0"));
	assert_true(S_ISREG(lstat_in(env, ".wh.dev0").st_mode));
}

static void whiteout_names_checked(void **state)
{
	struct env *env = *state;
	const struct ent empty[] = {
		{ .path = "d/.wh.", .mode = S_IFREG | 0644, .data = "" },
	};

	if (!img_unpack_probe(env->dest))
		skip();
	assert_int_equal(unpack(env, empty, 1), -EINVAL);
	assert_err_has(env, "names no file");
}

static void probe_cleans_up(void **state)
{
	struct env *env = *state;
	bool ok = img_unpack_probe(env->dest);

	fprintf(stderr, "# probe: %s\n", ok ? "overlay format" : "oci");
	assert_int_equal(count_entries(env->base, "dest", "outside"), 0);
	assert_int_equal(count_entries(env->base, "dest", "outside"), 0);
	{
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/dest", env->base);
		assert_int_equal(count_entries(path, NULL, NULL), 0);
	}
}

/* ---- in a user namespace ------------------------------------------------------- */

static bool userns_ok;
static char userns_why[256];

static int write_proc(const char *path, const char *text)
{
	return cmn_write_fileat(AT_FDCWD, path, text, strlen(text), 0644);
}

/* Map our own uid and gid to 0, as an unprivileged user may. */
static void enter_userns(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int ret;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		snprintf(userns_why, sizeof(userns_why), "unshare: %s",
			 strerror(errno));
		return;
	}
	ret = write_proc("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (ret == 0)
		ret = write_proc("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (ret == 0)
		ret = write_proc("/proc/self/gid_map", map);
	if (ret < 0) {
		snprintf(userns_why, sizeof(userns_why), "id map: %s",
			 strerror(-ret));
		return;
	}
	userns_ok = true;
}

static void need_userns(void)
{
	if (!userns_ok) {
		fprintf(stderr, "# no user namespace: %s\n", userns_why);
		skip();
	}
}

static void userns_whiteouts(void **state)
{
	need_userns();
	assert_true(getuid() == 0);
	whiteouts_converted(state);
}

static void userns_keep_owner(void **state)
{
	struct env *env = *state;
	const struct ent ents[] = {
		{ .path = "bin/", .mode = S_IFDIR | 0755 },
		{ .path = "bin/su", .mode = S_IFREG | 04755, .data = "su" },
		{ .path = "bin/sg", .mode = S_IFREG | 02755, .data = "sg" },
		{ .path = "bin/l", .mode = S_IFLNK | 0777, .data = "su" },
		{ .path = "f", .mode = S_IFIFO | 0600 },
	};

	need_userns();
	assert_int_equal(
		unpack_fd(env, make_tar(ents, ARRAY_SIZE(ents)), true, false),
		0);
	/* chown clears setuid; the mode is applied after it. */
	assert_int_equal(lstat_in(env, "bin/su").st_mode & 07777, 04755);
	assert_int_equal(lstat_in(env, "bin/sg").st_mode & 07777, 02755);
	assert_int_equal(lstat_in(env, "bin/su").st_uid, 0);
	assert_int_equal(lstat_in(env, "bin/l").st_uid, 0);
}

static void userns_unmapped_owner(void **state)
{
	struct env *env = *state;
	const struct ent uid[] = {
		{ .path = "usr/bin/x",
		  .mode = S_IFREG | 0755,
		  .data = "x",
		  .uid = 70000 },
	};
	const struct ent gid[] = {
		{ .path = "g",
		  .mode = S_IFLNK | 0777,
		  .data = "x",
		  .gid = 70001 },
	};
	const struct ent dir[] = {
		{ .path = "d/", .mode = S_IFDIR | 0755, .uid = 5 },
	};

	need_userns();
	assert_int_equal(unpack_fd(env, make_tar(uid, 1), true, false),
			 -EINVAL);
	assert_string_equal(
		env->err.msg,
		"layer file usr/bin/x is owned by uid 70000, which this user namespace does not map; ask for a larger subuid range");
	assert_int_equal(unpack_fd(env, make_tar(gid, 1), true, false),
			 -EINVAL);
	assert_err_has(env, "owned by gid 70001");
	assert_err_has(env, "subgid");
	assert_int_equal(unpack_fd(env, make_tar(dir, 1), true, false),
			 -EINVAL);
	assert_err_has(env, "uid 5");
	/* Without keep_owner the same layer unpacks, owned by us. */
	assert_int_equal(unpack_fd(env, make_tar(uid, 1), false, false), 0);
	assert_int_equal(lstat_in(env, "usr/bin/x").st_uid, 0);
}

/* Hostile layers again, now as "root" in the namespace. */
static void userns_escapes(void **state)
{
	struct env *env = *state;
	struct stat before, after;
	const struct ent ents[] = {
		{ .path = "link",
		  .mode = S_IFLNK | 0777,
		  .data = env->outside },
		{ .path = "link/file", .mode = S_IFREG | 04755, .data = "f" },
		{ .path = "sys", .mode = S_IFLNK | 0777, .data = "/etc" },
		{ .path = "sys/passwd", .mode = S_IFREG | 0644, .data = "x" },
	};

	need_userns();
	assert_int_equal(stat("/etc/passwd", &before), 0);
	assert_int_equal(
		unpack_fd(env, make_tar(ents, ARRAY_SIZE(ents)), true, false),
		0);
	assert_int_equal(stat("/etc/passwd", &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_true(S_ISLNK(lstat_in(env, "sys").st_mode));
	assert_content(env, "etc/passwd", "x");
	tree_gzip(state);
}

/* The escapes again with cmn_open_in_root()'s portable walk, which kernels
 * without openat2 (or a seccomp filter that denies it) use. */
static void escapes_portable_walk(void **state)
{
	cmn_path_force_walk = true;
	symlink_then_write(state);
	hardlink_escapes(state);
	later_entries_win(state);
	hardlink_via_symlink(state);
	cmn_path_force_walk = false;
}

/* File capabilities are applied (namespaced to this user namespace). */
static void userns_file_caps(void **state)
{
	struct env *env = *state;
	/* struct vfs_cap_data, revision 2, effective: cap_net_bind_service */
	static const char caps[20] = { 1, 0, 0, 2, 0, 4 };
	const struct ent ents[] = {
		{ .path = "ping",
		  .mode = S_IFREG | 0755,
		  .data = "p",
		  .xname = "security.capability",
		  .xvalue = caps,
		  .xlen = sizeof(caps) },
	};
	char path[PATH_MAX + 16], buf[64];
	ssize_t n;

	need_userns();
	assert_int_equal(unpack_fd(env, make_tar(ents, 1), true, false), 0);
	snprintf(path, sizeof(path), "%s/dest/ping", env->base);
	n = getxattr(path, "security.capability", buf, sizeof(buf));
	assert_int_equal(n, sizeof(caps));
	assert_memory_equal(buf, caps, sizeof(caps));
}

static int userns_group_setup(void **state)
{
	(void)state;
	enter_userns();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tree_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(tree_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(tree_zstd, setup, teardown),
		cmocka_unit_test_setup_teardown(diff_id_is_sha256sum, setup,
						teardown),
		cmocka_unit_test_setup_teardown(empty_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_names, setup, teardown),
		cmocka_unit_test_setup_teardown(big_and_sparse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(umask_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(hardlink_via_symlink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dotdot_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(absolute_stripped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(overlong_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(root_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(symlink_then_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(symlink_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(hardlink_escapes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(devices_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(devices_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(later_entries_win, setup,
						teardown),
		cmocka_unit_test_setup_teardown(setuid_cleared, setup,
						teardown),
		cmocka_unit_test_setup_teardown(xattrs_filtered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(truncated_gzip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(corrupt_streams, setup,
						teardown),
		cmocka_unit_test_setup_teardown(whiteouts_kept_oci, setup,
						teardown),
		cmocka_unit_test_setup_teardown(whiteout_names_checked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(probe_cleans_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(escapes_portable_walk, setup,
						teardown),
	};
	const struct CMUnitTest userns_tests[] = {
		cmocka_unit_test_setup_teardown(userns_whiteouts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(userns_keep_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(userns_unmapped_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(userns_escapes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(userns_file_caps, setup,
						teardown),
	};
	int failed, status;
	pid_t pid;

	failed = cmocka_run_group_tests_name("unpack", tests, NULL, NULL);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(cmocka_run_group_tests_name("unpack-userns", userns_tests,
						  userns_group_setup, NULL));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return failed + 1;
	return failed + WEXITSTATUS(status);
}
