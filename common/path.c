// SPDX-License-Identifier: Apache-2.0
/* path.c - open and create paths inside an untrusted tree, as if it were "/"
 *
 * Theory of operation
 *
 * hutch opens paths inside trees it does not trust: a container's root
 * filesystem, an image layer being unpacked, a build context. Whoever wrote
 * the tree controls every name in it, so a symlink "etc -> /", "a ->
 * ../../..", "x -> /proc/self/root" or a dangling "f -> /home/you/.bashrc"
 * must be read the way the container will read it: relative to the tree's
 * own root. Resolving such a path naively opens, or worse creates, files on
 * the host. cmn_open_in_root() takes a directory descriptor for the tree and
 * guarantees that nothing the tree contains can make the lookup leave it.
 *
 * Where the kernel has openat2(2) and nothing must be created, RESOLVE_IN_ROOT
 * does exactly this in one call; RESOLVE_NO_MAGICLINKS also refuses procfs
 * magic links, which jump to wherever the kernel object lives. openat2 is
 * probed once: ENOSYS or E2BIG (a kernel older than 5.6, or a seccomp filter
 * that denies it) is remembered, EINVAL (flags this kernel does not know) and
 * EAGAIN (a rename race during "..") send just this call to the walk.
 *
 * The portable walk, used for every creation and when openat2 is missing,
 * takes one component at a time with openat(O_PATH | O_NOFOLLOW) relative to
 * the directory reached so far, and keeps every directory it passed on a
 * stack of descriptors:
 *   - ".." pops the stack, and at the root stays there;
 *   - a symlink is read with readlinkat() and its target spliced in front of
 *     the rest of the path: an absolute target empties the stack (back to the
 *     tree's root), a relative one continues from the current directory;
 *   - after 40 symlinks the walk gives up with ELOOP, like the kernel.
 * A magic link read this way is only text ("/", "pipe:[12]"), resolved inside
 * the tree like any other target, so it cannot jump either.
 *
 * Alternatives rejected:
 *   - realpath() and a prefix check: the tree can change between the check
 *     and the use (TOCTOU), and realpath follows links on the host.
 *   - chroot() in a child: needs CAP_SYS_CHROOT, which rootless hutch lacks
 *     outside its user namespace, and costs a fork per lookup.
 *   - openat(fd, ".."): if a directory is renamed out of the tree while we
 *     stand in it (or a bind mount places it elsewhere), ".." leads out of
 *     the tree. The stack holds the directories we actually came through.
 *
 * The last component is reopened with the caller's flags relative to its
 * parent's descriptor, with O_NOFOLLOW so that a symlink swapped in after the
 * check cannot be followed; reopening through /proc/self/fd is not an option
 * because /proc is often not mounted yet when hutch sets up a root.
 *
 * Created directories are 0755 and files 0644 whatever the umask (an HPC
 * user's umask 077 would otherwise lock container users out of the
 * directories we add). Files are created O_CREAT | O_EXCL | O_NOFOLLOW, so a
 * symlink raced into place is never written through; EEXIST from a race is
 * answered by looking the name up again. O_CREAT and O_TMPFILE in the flags
 * are refused (EINVAL): creation is asked for with @create, and done here.
 *
 * Limits: the walk holds one descriptor per directory level and refuses
 * trees deeper than WALK_MAX_DEPTH (ENAMETOOLONG); the rest of the path,
 * symlink targets spliced in, must fit in 2 * PATH_MAX.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/common.h"

bool cmn_path_force_walk;

/* The kernel's MAXSYMLINKS: 40 links are followed, the 41st is ELOOP. */
#define WALK_MAX_LINKS 40
/* Directories held open at once; the default RLIMIT_NOFILE is 1024. */
#define WALK_MAX_DEPTH 512
/* Tries when a racing process keeps removing what we just created. */
#define WALK_MAX_RETRY 16
/* Returned by the step functions: the walk goes on with the next component. */
#define WALK_NEXT 1

/* openat2 state: 0 unknown or present, 1 known missing. */
static int openat2_missing;

struct walk {
	int root;		 /* borrowed: the tree's root */
	int flags;		 /* the caller's open flags, O_CLOEXEC added */
	enum cmn_create create;	 /* what to create when missing */
	int nlinks;		 /* symlinks followed so far */
	int depth;		 /* directories on the stack */
	size_t start;		 /* the rest of the path is buf + start */
	int fds[WALK_MAX_DEPTH]; /* owned: fds[depth - 1] is where we are */
	char buf[PATH_MAX * 2];	 /* the rest of the path, right-aligned */
};

/* The component being looked at, copied out of walk.buf. */
struct comp {
	char name[NAME_MAX + 1];
	bool last;     /* nothing but slashes follows */
	bool dir_only; /* a trailing slash: must be a directory, is followed */
};

static void walk_release(struct walk *w)
{
	int saved = errno;

	while (w->depth > 0)
		close(w->fds[--w->depth]);
	errno = saved;
}

static int walk_cwd(const struct walk *w)
{
	return w->depth ? w->fds[w->depth - 1] : w->root;
}

static int walk_push(struct walk *w, int fd)
{
	if (w->depth == WALK_MAX_DEPTH) {
		close(fd);
		return -ENAMETOOLONG;
	}
	w->fds[w->depth++] = fd;
	return 0;
}

static void walk_pop(struct walk *w)
{
	if (w->depth > 0)
		close(w->fds[--w->depth]);
}

/*
 * walk_next() - take the next component off the rest of the path
 * Return: 1 with @c filled, 0 when the path is used up, or -ENAMETOOLONG.
 */
static int walk_next(struct walk *w, struct comp *c)
{
	const char *p = w->buf + w->start, *end, *after;
	size_t len;

	while (*p == '/')
		p++;
	if (!*p)
		return 0;
	end = strchrnul(p, '/');
	len = end - p;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(c->name, p, len);
	c->name[len] = '\0';
	for (after = end; *after == '/'; after++)
		;
	c->last = !*after;
	c->dir_only = c->last && *end == '/';
	w->start = end - w->buf;
	return 1;
}

/*
 * walk_splice() - replace the symlink @linkfd by its target in the rest of
 * the path; an absolute target goes back to the root. Closes @linkfd.
 */
static int walk_splice(struct walk *w, int linkfd)
{
	cleanup_close int fd = linkfd;
	size_t room = w->start;
	ssize_t n;

	if (++w->nlinks > WALK_MAX_LINKS)
		return -ELOOP;
	if (room == 0)
		return -ENAMETOOLONG;
	/*
	 * Read straight into the free space in front of the rest, then move
	 * it up against the rest. The rest is empty or starts with '/', so
	 * no separator is needed, and a target's trailing slash survives.
	 */
	n = readlinkat(fd, "", w->buf, room > PATH_MAX ? PATH_MAX : room);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT; /* as the kernel treats an empty target */
	if ((size_t)n >= room || n >= PATH_MAX)
		return -ENAMETOOLONG;
	memmove(w->buf + room - n, w->buf, n);
	w->start = room - n;
	if (w->buf[w->start] == '/')
		walk_release(w);
	return WALK_NEXT;
}

static int probe(int dirfd, const char *name, struct stat *st)
{
	cleanup_close int fd =
		openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		return -errno;
	return steal_fd(&fd);
}

/* mkdirat() with an exact 0755; an existing entry is left to the caller. */
static int make_dir(int dirfd, const char *name)
{
	cleanup_close int fd = -1;

	if (mkdirat(dirfd, name, 0755) < 0)
		return errno == EEXIST ? 0 : -errno;
	/* O_NOFOLLOW: if it was swapped for a symlink, chmod nothing. */
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone again or unreadable: the lookup will tell */
	if (fchmod(fd, 0755) < 0)
		return -errno;
	return 0;
}

/* An empty 0644 file, never written through a symlink. */
static int make_file(int dirfd, const char *name)
{
	cleanup_close int fd = openat(
		dirfd, name,
		O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (fchmod(fd, 0644) < 0)
		return -errno;
	return 0;
}

/*
 * lookup() - probe @name in the current directory, creating it first when it
 * is missing and @mk says how. Return: an O_PATH descriptor or -errno.
 */
static int lookup(struct walk *w, const char *name, struct stat *st,
		  int (*mk)(int, const char *))
{
	int fd = -ENOENT, ret;

	for (int tries = 0; tries < WALK_MAX_RETRY; tries++) {
		fd = probe(walk_cwd(w), name, st);
		if (fd != -ENOENT || !mk)
			return fd;
		ret = mk(walk_cwd(w), name);
		if (ret < 0)
			return ret;
	}
	return fd;
}

/* An intermediate component: enter a directory or splice a symlink. */
static int step_dir(struct walk *w, const char *name)
{
	struct stat st;
	cleanup_close int fd = lookup(
		w, name, &st, w->create != CMN_CREATE_NONE ? make_dir : NULL);

	if (fd < 0)
		return fd;
	if (S_ISLNK(st.st_mode))
		return walk_splice(w, steal_fd(&fd));
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return walk_push(w, steal_fd(&fd));
}

/* Does what we found fit what @create asked for? */
static int check_type(enum cmn_create create, mode_t mode)
{
	if (create == CMN_CREATE_DIR && !S_ISDIR(mode))
		return -EEXIST;
	/* Any non-directory will do for a file: a device node or a fifo
	 * serves as a bind-mount target as well as a regular file. */
	if (create == CMN_CREATE_FILE && (S_ISDIR(mode) || S_ISLNK(mode)))
		return -EEXIST;
	return 0;
}

/*
 * reopen() - open the last component @name with the caller's flags and make
 * sure it is what lookup() saw.
 * Return: 0 with the descriptor in *@out, -errno, or WALK_NEXT when it
 * changed under us and must be looked up again.
 */
static int reopen(struct walk *w, const char *name, const struct stat *seen,
		  int extra, int *out)
{
	cleanup_close int fd =
		openat(walk_cwd(w), name, w->flags | O_NOFOLLOW | extra);
	struct stat st;

	/* ELOOP: a symlink appeared where we saw something else; ENOENT: it
	 * went away (and may have to be created again). */
	if (fd < 0 && errno == ELOOP && !S_ISLNK(seen->st_mode))
		return WALK_NEXT;
	if (fd < 0 && errno == ENOENT)
		return WALK_NEXT;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_dev != seen->st_dev || st.st_ino != seen->st_ino)
		return WALK_NEXT;
	*out = steal_fd(&fd);
	return 0;
}

/*
 * step_last() - the last component: create it if asked, follow it if it is
 * a symlink to be followed, else reopen it with the caller's flags.
 * Return: a descriptor (stored in *@out, 0 returned), WALK_NEXT, or -errno.
 */
static int step_last(struct walk *w, const struct comp *c, int *out)
{
	bool follow = c->dir_only || !(w->flags & O_NOFOLLOW);
	int (*mk)(int, const char *) = NULL;

	if (w->create == CMN_CREATE_DIR)
		mk = make_dir;
	else if (w->create == CMN_CREATE_FILE)
		mk = make_file;
	for (int tries = 0; tries < WALK_MAX_RETRY; tries++) {
		struct stat st;
		cleanup_close int fd = lookup(w, c->name, &st, mk);
		int ret;

		if (fd < 0)
			return fd;
		if (S_ISLNK(st.st_mode) && follow)
			return walk_splice(w, steal_fd(&fd));
		ret = check_type(w->create, st.st_mode);
		if (ret < 0)
			return ret;
		ret = reopen(w, c->name, &st, c->dir_only ? O_DIRECTORY : 0,
			     out);
		if (ret != WALK_NEXT)
			return ret;
	}
	return -EAGAIN; /* the tree kept changing under us */
}

/* The path ended on a directory we stand in ("/", "a/..", "a/."). */
static int open_cwd(const struct walk *w)
{
	int fd;

	if (w->create == CMN_CREATE_FILE)
		return -EEXIST;
	fd = openat(walk_cwd(w), ".", w->flags);
	return fd < 0 ? -errno : fd;
}

static int walk_run(struct walk *w)
{
	for (;;) {
		struct comp c;
		int fd = -1, ret = walk_next(w, &c);

		if (ret <= 0)
			return ret < 0 ? ret : open_cwd(w);
		if (!strcmp(c.name, "."))
			continue;
		if (!strcmp(c.name, "..")) {
			walk_pop(w);
			continue;
		}
		if (!c.last) {
			ret = step_dir(w, c.name);
		} else {
			if (c.dir_only && w->create == CMN_CREATE_FILE)
				return -EISDIR;
			ret = step_last(w, &c, &fd);
			if (ret == 0)
				return fd;
		}
		if (ret < 0)
			return ret;
	}
}

static int open_walk(int rootfd, const char *path, int flags,
		     enum cmn_create create)
{
	/* Not zero-filled: 10 KiB per call adds up when unpacking a layer. */
	__attribute__((cleanup(walk_release))) struct walk w;
	size_t len = strlen(path);

	w.root = rootfd;
	w.flags = flags | O_CLOEXEC;
	w.create = create;
	w.nlinks = 0;
	w.depth = 0;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	w.start = sizeof(w.buf) - 1 - len;
	memcpy(w.buf + w.start, path, len + 1);
	return walk_run(&w);
}

/*
 * open_fast() - openat2(RESOLVE_IN_ROOT)
 * Return: 0 with the descriptor in *@out, -errno, or WALK_NEXT when the
 * walk must do it.
 */
static int open_fast(int rootfd, const char *path, int flags, int *out)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	if (__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED))
		return WALK_NEXT;
	for (int tries = 0; tries < WALK_MAX_RETRY; tries++) {
		int fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (errno == EAGAIN)
			continue; /* a rename or mount raced with ".." */
		if (errno == ENOSYS || errno == E2BIG)
			__atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
		if (errno == ENOSYS || errno == E2BIG || errno == EINVAL)
			return WALK_NEXT;
		return -errno;
	}
	return WALK_NEXT;
}

int cmn_open_in_root(int rootfd, const char *path, int flags,
		     enum cmn_create create)
{
	int fd = -1, ret;

	if (!path || !*path)
		return -ENOENT;
	/* Creation is asked for with @create, where it is done safely. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;
	if (create == CMN_CREATE_NONE && !cmn_path_force_walk) {
		ret = open_fast(rootfd, path, flags, &fd);
		if (ret != WALK_NEXT)
			return ret < 0 ? ret : fd;
	}
	return open_walk(rootfd, path, flags, create);
}
