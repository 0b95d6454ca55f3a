// SPDX-License-Identifier: Apache-2.0
/* test_path.c - unit tests for cmn_open_in_root() against hostile trees
 *
 * Each test builds a fresh tree in a temporary directory:
 *
 *	$tmp/root      the tree handed to cmn_open_in_root(), full of traps
 *	$tmp/outside   an empty directory the traps point at
 *
 * and runs twice: once as callers get it (openat2 where the kernel has it)
 * and once with cmn_path_force_walk set, so the portable walk answers every
 * case too. Results are checked by inode against the file expected inside the
 * root; the teardown checks that nothing appeared outside the root and that
 * no descriptor leaked.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/common.h"

#define MARKER "hutch-inside\n"

struct fix {
	char tmp[PATH_MAX]; /* the temporary directory */
	int rootfd;	    /* $tmp/root */
	int nfds;	    /* open descriptors after setup, or -1 */
};

static bool mode_fast = false, mode_walk = true;

static int count_fds(void)
{
	cleanup_dir DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	return n;
}

static void put_file(int dirfd, const char *rel, const char *text)
{
	cleanup_close int fd = openat(
		dirfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(cmn_write_all(fd, text, strlen(text)), 0);
}

static void put_link(int dirfd, const char *target, const char *rel)
{
	assert_int_equal(symlinkat(target, dirfd, rel), 0);
}

/* c0 -> c1 -> ... -> c40 -> etc/passwd: opening cN follows 41 - N links. */
static void put_chain(int rootfd)
{
	char name[16], target[16];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(target, sizeof(target), "c%d", i + 1);
		put_link(rootfd, target, name);
	}
	put_link(rootfd, "etc/passwd", "c40");
}

static void build_tree(struct fix *f)
{
	char dangle[PATH_MAX + 32];
	int r = f->rootfd;

	assert_int_equal(mkdirat(r, "etc", 0755), 0);
	put_file(r, "etc/passwd", MARKER);
	assert_int_equal(mkdirat(r, "sub", 0755), 0);
	assert_int_equal(mkdirat(r, "sub/dir", 0755), 0);
	put_link(r, "/", "abs");
	put_link(r, "/etc", "dirlnk");
	put_link(r, "../../../../../../../../../../../../../..", "dots");
	put_link(r, "../../../../../..", "sub/dir/up");
	put_link(r, "/etc", "sub/dir/abs");
	put_link(r, "loop2", "loop1");
	put_link(r, "loop1", "loop2");
	put_link(r, "self", "self");
	put_link(r, "/proc/self/root", "pself");
	put_link(r, "etc/passwd", "lnk");
	put_link(r, "../outside", "relout");
	snprintf(dangle, sizeof(dangle), "%s/outside/created", f->tmp);
	put_link(r, dangle, "dangle");
	put_chain(r);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	const char *tmpdir = getenv("TMPDIR");
	char path[PATH_MAX + 16];

	assert_non_null(f);
	cmn_path_force_walk = *(bool *)*state;
	snprintf(f->tmp, sizeof(f->tmp), "%s/hutch-path-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(path, sizeof(path), "%s/root", f->tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/outside", f->tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/root", f->tmp);
	f->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	build_tree(f);
	f->nfds = count_fds();
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Only "root" and "outside" in $tmp, and "outside" still empty. */
static void check_nothing_outside(const struct fix *f)
{
	char path[PATH_MAX + 16];
	cleanup_dir DIR *top = opendir(f->tmp);
	cleanup_dir DIR *out = NULL;
	struct dirent *e;

	assert_non_null(top);
	while ((e = readdir(top))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "root") && strcmp(e->d_name, "outside"))
			fail_msg("%s appeared next to the root", e->d_name);
	}
	snprintf(path, sizeof(path), "%s/outside", f->tmp);
	out = opendir(path);
	assert_non_null(out);
	while ((e = readdir(out))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("outside/%s was created", e->d_name);
	}
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->nfds >= 0)
		assert_int_equal(count_fds(), f->nfds);
	check_nothing_outside(f);
	close(f->rootfd);
	assert_int_equal(nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	cmn_path_force_walk = false;
	return 0;
}

/* The same inode as @rel (not followed) inside the root? Closes @fd. */
static void assert_is(const struct fix *f, int fd, const char *path,
		      const char *rel)
{
	struct stat got, want;

	if (fd < 0)
		fail_msg("%s: %s", path, strerror(-fd));
	assert_int_equal(fstat(fd, &got), 0);
	close(fd);
	assert_int_equal(fstatat(f->rootfd, rel, &want, AT_SYMLINK_NOFOLLOW),
			 0);
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		fail_msg("%s opened something other than root/%s", path, rel);
}

static void expect_at(const struct fix *f, const char *path, int flags,
		      enum cmn_create create, const char *rel)
{
	assert_is(f, cmn_open_in_root(f->rootfd, path, flags, create), path,
		  rel);
}

static void expect_err(const struct fix *f, const char *path, int flags,
		       enum cmn_create create, int err)
{
	int fd = cmn_open_in_root(f->rootfd, path, flags, create);

	if (fd >= 0)
		close(fd);
	if (fd != -err)
		fail_msg("%s: got %d (%s), want -%d (%s)", path, fd,
			 fd < 0 ? strerror(-fd) : "a descriptor", err,
			 strerror(err));
}

static void abs_link_stays_inside(void **state)
{
	struct fix *f = *state;
	char buf[64] = { 0 };
	int fd;

	expect_at(f, "abs/etc/passwd", O_PATH, CMN_CREATE_NONE, "etc/passwd");
	expect_at(f, "/abs/abs/./abs/etc/passwd", O_RDONLY, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "dirlnk/passwd", O_RDONLY, CMN_CREATE_NONE, "etc/passwd");
	expect_at(f, "sub/dir/abs/passwd", O_PATH, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "sub/dir/abs/../sub", O_PATH, CMN_CREATE_NONE, "sub");
	expect_at(f, "sub/dir/abs/new", O_PATH, CMN_CREATE_DIR, "etc/new");
	expect_at(f, "abs", O_RDONLY | O_DIRECTORY, CMN_CREATE_NONE, ".");
	/* The marker tells the tree's passwd from the host's. */
	fd = cmn_open_in_root(f->rootfd, "abs/etc/passwd", O_RDONLY,
			      CMN_CREATE_NONE);
	assert_true(fd >= 0);
	assert_true(cmn_read_all(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, MARKER);
}

static void dotdot_never_above_root(void **state)
{
	struct fix *f = *state;

	expect_at(f, "../../../../../../../../etc/passwd", O_RDONLY,
		  CMN_CREATE_NONE, "etc/passwd");
	expect_at(f, "dots/etc/passwd", O_RDONLY, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "sub/dir/up/etc/passwd", O_PATH, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "sub/dir/../../../../etc/passwd", O_PATH, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "..", O_PATH, CMN_CREATE_NONE, ".");
	expect_at(f, "sub/dir/..", O_RDONLY | O_DIRECTORY, CMN_CREATE_NONE,
		  "sub");
	expect_at(f, "dots", O_PATH, CMN_CREATE_NONE, ".");
}

static void symlink_loops(void **state)
{
	struct fix *f = *state;

	expect_err(f, "loop1", O_PATH, CMN_CREATE_NONE, ELOOP);
	expect_err(f, "loop1/x", O_PATH, CMN_CREATE_NONE, ELOOP);
	expect_err(f, "self", O_RDONLY, CMN_CREATE_NONE, ELOOP);
	expect_err(f, "self/x", O_RDONLY, CMN_CREATE_FILE, ELOOP);
	expect_err(f, "loop2/x/y", O_PATH, CMN_CREATE_DIR, ELOOP);
	/* The kernel's limit exactly: 40 links are fine, 41 are not. */
	expect_at(f, "c1", O_RDONLY, CMN_CREATE_NONE, "etc/passwd");
	expect_err(f, "c0", O_RDONLY, CMN_CREATE_NONE, ELOOP);
}

static void proc_self_root_is_inside(void **state)
{
	struct fix *f = *state;

	/* The tree has no /proc: the host's root must not be reached. */
	expect_err(f, "pself/etc/passwd", O_RDONLY, CMN_CREATE_NONE, ENOENT);
	expect_err(f, "pself", O_PATH, CMN_CREATE_NONE, ENOENT);
	expect_at(f, "pself", O_PATH | O_NOFOLLOW, CMN_CREATE_NONE, "pself");
	/* Creating through it makes the directories inside the tree. */
	expect_at(f, "pself/etc/x", O_PATH, CMN_CREATE_FILE,
		  "proc/self/root/etc/x");
}

static void dangling_link_created_inside(void **state)
{
	struct fix *f = *state;
	char rel[PATH_MAX + 32];

	expect_err(f, "dangle", O_RDONLY, CMN_CREATE_NONE, ENOENT);
	snprintf(rel, sizeof(rel), "%s/outside/created", f->tmp + 1);
	expect_at(f, "dangle", O_WRONLY, CMN_CREATE_FILE, rel);
	/* Now it exists: the same file again, through the link. */
	expect_at(f, "/dangle", O_RDONLY, CMN_CREATE_FILE, rel);
	expect_at(f, "dangle", O_RDONLY, CMN_CREATE_NONE, rel);
	expect_at(f, "relout/newdir", O_PATH, CMN_CREATE_DIR, "outside/newdir");
	expect_at(f, "abs/newfile", O_PATH, CMN_CREATE_FILE, "newfile");
	expect_at(f, "dots/x/y", O_PATH, CMN_CREATE_DIR, "x/y");
	expect_at(f, "sub/dir/up/up2/f", O_PATH, CMN_CREATE_FILE, "up2/f");
}

/* An intermediate link that dangles gets its target made inside the root. */
static void dangling_intermediate_link(void **state)
{
	struct fix *f = *state;

	put_link(f->rootfd, "/made/by/walk", "mid");
	put_link(f->rootfd, "../../rel/made", "sub/dir/mid2");
	expect_at(f, "mid/f", O_PATH, CMN_CREATE_FILE, "made/by/walk/f");
	expect_at(f, "sub/dir/mid2/d", O_PATH, CMN_CREATE_DIR, "rel/made/d");
	expect_at(f, "mid/f", O_PATH, CMN_CREATE_NONE, "made/by/walk/f");
}

static void enotdir_in_the_middle(void **state)
{
	struct fix *f = *state;

	expect_err(f, "etc/passwd/x", O_RDONLY, CMN_CREATE_NONE, ENOTDIR);
	expect_err(f, "lnk/x", O_PATH, CMN_CREATE_NONE, ENOTDIR);
	expect_err(f, "etc/passwd/x", O_PATH, CMN_CREATE_DIR, ENOTDIR);
	expect_err(f, "etc/passwd/x/y", O_PATH, CMN_CREATE_FILE, ENOTDIR);
	expect_err(f, "etc/passwd/", O_PATH, CMN_CREATE_NONE, ENOTDIR);
}

static void dot_and_double_slash(void **state)
{
	struct fix *f = *state;

	expect_at(f, ".//etc/./passwd", O_RDONLY, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "//etc//passwd", O_PATH, CMN_CREATE_NONE, "etc/passwd");
	expect_at(f, "etc/../etc/passwd", O_PATH, CMN_CREATE_NONE,
		  "etc/passwd");
	expect_at(f, "/", O_RDONLY | O_DIRECTORY, CMN_CREATE_NONE, ".");
	expect_at(f, ".", O_PATH, CMN_CREATE_NONE, ".");
	expect_at(f, "etc/", O_RDONLY | O_DIRECTORY, CMN_CREATE_NONE, "etc");
	expect_at(f, "dirlnk/", O_PATH | O_NOFOLLOW, CMN_CREATE_NONE, "etc");
	expect_err(f, "", O_PATH, CMN_CREATE_NONE, ENOENT);
	expect_err(f, "nope", O_PATH, CMN_CREATE_NONE, ENOENT);
	expect_err(f, "nope/x", O_PATH, CMN_CREATE_NONE, ENOENT);
}

static void assert_mode(const struct fix *f, const char *rel, mode_t mode)
{
	struct stat st;

	assert_int_equal(fstatat(f->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode, mode);
}

static void deep_creation(void **state)
{
	struct fix *f = *state;
	mode_t old = umask(077);
	struct stat st;
	int fd;

	expect_at(f, "a/b/c", O_RDONLY | O_DIRECTORY, CMN_CREATE_DIR, "a/b/c");
	expect_at(f, "a/b/c/f", O_WRONLY, CMN_CREATE_FILE, "a/b/c/f");
	umask(old);
	/* Exact modes whatever the umask. */
	assert_mode(f, "a", S_IFDIR | 0755);
	assert_mode(f, "a/b/c", S_IFDIR | 0755);
	assert_mode(f, "a/b/c/f", S_IFREG | 0644);
	/* Idempotent: existing entries of the right type are opened. */
	expect_at(f, "a/b/c", O_PATH, CMN_CREATE_DIR, "a/b/c");
	expect_at(f, "/a//b/./c/f", O_RDONLY, CMN_CREATE_FILE, "a/b/c/f");
	expect_at(f, "a/b/c/f", O_RDONLY, CMN_CREATE_NONE, "a/b/c/f");
	expect_at(f, "a/b/..", O_PATH, CMN_CREATE_DIR, "a");
	expect_at(f, "/", O_PATH, CMN_CREATE_DIR, ".");
	fd = cmn_open_in_root(f->rootfd, "a/b/c/f", O_RDONLY, CMN_CREATE_FILE);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
}

static void wrong_type_is_eexist(void **state)
{
	struct fix *f = *state;

	expect_err(f, "etc", O_PATH, CMN_CREATE_FILE, EEXIST);
	expect_err(f, "etc/passwd", O_PATH, CMN_CREATE_DIR, EEXIST);
	expect_err(f, "/", O_PATH, CMN_CREATE_FILE, EEXIST);
	expect_err(f, "sub/..", O_PATH, CMN_CREATE_FILE, EEXIST);
	expect_err(f, "lnk", O_PATH, CMN_CREATE_DIR, EEXIST);
	expect_err(f, "dirlnk", O_PATH, CMN_CREATE_FILE, EEXIST);
	/* Not followed, a symlink is neither a file nor a directory. */
	expect_err(f, "lnk", O_PATH | O_NOFOLLOW, CMN_CREATE_FILE, EEXIST);
	expect_err(f, "dirlnk", O_PATH | O_NOFOLLOW, CMN_CREATE_DIR, EEXIST);
	expect_err(f, "newdir/", O_PATH, CMN_CREATE_FILE, EISDIR);
	/* Followed, they are what they point to. */
	expect_at(f, "lnk", O_RDONLY, CMN_CREATE_FILE, "etc/passwd");
	expect_at(f, "dirlnk", O_PATH, CMN_CREATE_DIR, "etc");
}

static void nofollow_final_symlink(void **state)
{
	struct fix *f = *state;
	struct stat st;
	int fd;

	fd = cmn_open_in_root(f->rootfd, "lnk", O_PATH | O_NOFOLLOW,
			      CMN_CREATE_NONE);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_is(f, fd, "lnk", "lnk");
	expect_at(f, "abs/abs", O_PATH | O_NOFOLLOW, CMN_CREATE_NONE, "abs");
	expect_at(f, "lnk", O_RDONLY, CMN_CREATE_NONE, "etc/passwd");
	expect_err(f, "lnk", O_RDONLY | O_NOFOLLOW, CMN_CREATE_NONE, ELOOP);
	/* Intermediate links are followed all the same. */
	expect_at(f, "dirlnk/passwd", O_RDONLY | O_NOFOLLOW, CMN_CREATE_NONE,
		  "etc/passwd");
}

static void flags_are_honoured(void **state)
{
	struct fix *f = *state;
	int fd;

	expect_at(f, "etc", O_RDONLY | O_DIRECTORY, CMN_CREATE_NONE, "etc");
	expect_err(f, "etc/passwd", O_RDONLY | O_DIRECTORY, CMN_CREATE_NONE,
		   ENOTDIR);
	expect_err(f, "etc", O_WRONLY, CMN_CREATE_NONE, EISDIR);
	expect_err(f, "x", O_RDONLY | O_CREAT, CMN_CREATE_NONE, EINVAL);
	expect_err(f, "etc", O_RDWR | O_TMPFILE, CMN_CREATE_NONE, EINVAL);
	fd = cmn_open_in_root(f->rootfd, "etc/passwd", O_RDONLY,
			      CMN_CREATE_NONE);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
	fd = cmn_open_in_root(f->rootfd, "a/f", O_RDWR, CMN_CREATE_FILE);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(cmn_write_all(fd, "x", 1), 0);
	close(fd);
}

static void long_names(void **state)
{
	struct fix *f = *state;
	char name[NAME_MAX + 2], path[PATH_MAX + 8];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	expect_err(f, name, O_PATH, CMN_CREATE_NONE, ENAMETOOLONG);
	expect_err(f, name, O_PATH, CMN_CREATE_FILE, ENAMETOOLONG);
	memset(path, 'a', sizeof(path) - 1);
	for (size_t i = 100; i < sizeof(path); i += 100)
		path[i] = '/';
	path[sizeof(path) - 1] = '\0';
	expect_err(f, path, O_PATH, CMN_CREATE_NONE, ENAMETOOLONG);
	expect_err(f, path, O_PATH, CMN_CREATE_DIR, ENAMETOOLONG);
}

/* "d/d/.../d", @n levels deep, in @buf. */
static const char *deep_path(char *buf, int n)
{
	for (int i = 0; i < n; i++)
		memcpy(buf + 2 * i, "d/", 2);
	buf[2 * n - 1] = '\0';
	return buf;
}

/* The walk holds one descriptor per level and refuses beyond 512. */
static void depth_is_bounded(void **state)
{
	struct fix *f = *state;
	char buf[2 * 600];

	expect_err(f, deep_path(buf, 600), O_PATH, CMN_CREATE_DIR,
		   ENAMETOOLONG);
	expect_at(f, deep_path(buf, 500), O_PATH, CMN_CREATE_DIR, buf);
	expect_at(f, deep_path(buf, 500), O_PATH, CMN_CREATE_NONE, buf);
}

struct mover {
	char in[PATH_MAX + 16], out[PATH_MAX + 16];
	volatile bool stop;
};

/* Moves root/a/b/c out of the root and back until told to stop. */
static void *mover_run(void *arg)
{
	struct mover *m = arg;

	while (!m->stop) {
		if (rename(m->in, m->out) == 0)
			rename(m->out, m->in);
	}
	return NULL;
}

/*
 * ".." must pop to the directories the walk came through. Were it looked up
 * with openat(fd, ".."), a directory moved out of the root while the walk
 * stands in it would lead "a/b/c/../../etc/passwd" to $tmp/etc/passwd, a
 * decoy planted here to make such an escape visible.
 */
static void rename_race_cannot_lift_out(void **state)
{
	struct fix *f = *state;
	/* Static: a failed assertion leaves the mover running. */
	static struct mover m;
	char decoy[PATH_MAX + 16];
	const char *path = "a/b/c/../../etc/passwd";
	pthread_t th;
	int fd, tmpfd = open(f->tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);

	assert_true(tmpfd >= 0);
	assert_int_equal(mkdirat(tmpfd, "etc", 0755), 0);
	put_file(tmpfd, "etc/passwd", "decoy\n");
	assert_int_equal(mkdirat(f->rootfd, "a", 0755), 0);
	assert_int_equal(mkdirat(f->rootfd, "a/etc", 0755), 0);
	put_file(f->rootfd, "a/etc/passwd", MARKER);
	assert_int_equal(mkdirat(f->rootfd, "a/b", 0755), 0);
	assert_int_equal(mkdirat(f->rootfd, "a/b/c", 0755), 0);
	m.stop = false;
	snprintf(m.in, sizeof(m.in), "%s/root/a/b/c", f->tmp);
	snprintf(m.out, sizeof(m.out), "%s/outside/c", f->tmp);
	assert_int_equal(pthread_create(&th, NULL, mover_run, &m), 0);
	for (int i = 0; i < 20000; i++) {
		fd = cmn_open_in_root(f->rootfd, path, O_PATH, CMN_CREATE_NONE);
		if (fd >= 0)
			assert_is(f, fd, path, "a/etc/passwd");
	}
	m.stop = true;
	assert_int_equal(pthread_join(th, NULL), 0);
	snprintf(decoy, sizeof(decoy), "%s/etc/passwd", f->tmp);
	assert_int_equal(unlink(decoy), 0);
	assert_int_equal(unlinkat(tmpfd, "etc", AT_REMOVEDIR), 0);
	close(tmpfd);
}

/* Make openat2 fail with @err in this process, as an old kernel would. */
static int deny_openat2(int err)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* In a child: does @path lead to @rel inside the root? 0 if so. */
static int same_in_child(const struct fix *f, const char *path, int flags,
			 const char *rel)
{
	struct stat got, want;
	int fd = cmn_open_in_root(f->rootfd, path, flags, CMN_CREATE_NONE);

	if (fd < 0 || fstat(fd, &got) < 0)
		return 1;
	close(fd);
	if (fstatat(f->rootfd, rel, &want, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	return got.st_dev != want.st_dev || got.st_ino != want.st_ino;
}

/* The walk answers, correctly, when openat2 is refused with @err. */
static void check_without_openat2(const struct fix *f, int err)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = deny_openat2(err) < 0;

		/* Twice: once probing, once after remembering. */
		for (int i = 0; i < 2; i++) {
			bad |= same_in_child(f, "abs/etc/passwd", O_RDONLY,
					     "etc/passwd")
			       << 1;
			bad |= same_in_child(f, "dots/etc/passwd", O_PATH,
					     "etc/passwd")
			       << 2;
			bad |= same_in_child(f, "lnk", O_PATH | O_NOFOLLOW,
					     "lnk")
			       << 3;
			bad |= (cmn_open_in_root(f->rootfd, "loop1", O_PATH,
						 CMN_CREATE_NONE) != -ELOOP)
			       << 4;
		}
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("openat2 refused with %s: check mask 0x%x",
			 strerror(err), WEXITSTATUS(status));
}

static void fallback_when_openat2_refused(void **state)
{
	struct fix *f = *state;

	check_without_openat2(f, ENOSYS);
	check_without_openat2(f, E2BIG);
	check_without_openat2(f, EINVAL);
	check_without_openat2(f, EAGAIN);
}

/* Each case twice, named so that TAP says which resolver failed. */
#define ONE(fn, how, mode)                                             \
	{                                                              \
		.name = #fn how, .test_func = fn, .setup_func = setup, \
		.teardown_func = teardown, .initial_state = (mode)     \
	}
#define BOTH(fn) ONE(fn, "/openat2", &mode_fast), ONE(fn, "/walk", &mode_walk)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(abs_link_stays_inside),
		BOTH(dotdot_never_above_root),
		BOTH(symlink_loops),
		BOTH(proc_self_root_is_inside),
		BOTH(dangling_link_created_inside),
		BOTH(dangling_intermediate_link),
		BOTH(enotdir_in_the_middle),
		BOTH(dot_and_double_slash),
		BOTH(deep_creation),
		BOTH(wrong_type_is_eexist),
		BOTH(nofollow_final_symlink),
		BOTH(flags_are_honoured),
		BOTH(long_names),
		BOTH(depth_is_bounded),
		BOTH(rename_race_cannot_lift_out),
		ONE(fallback_when_openat2_refused, "", &mode_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
