// SPDX-License-Identifier: Apache-2.0
/* verified.c - a .sqsh file's digest checked once, not at every start
 *
 * hutch-squashfs mount checks the file's sha256 before it serves it
 * (trailer.c), which reads the whole file: a 2 GB image on a shared
 * filesystem, read in full by each of a hundred ranks at their start.
 * With --verified-cache=DIR (hutch passes $HUTCH_ROOT/squashfs-verified)
 * a verified file leaves an entry DIR/<dev>-<ino> holding one line:
 *
 *   hutch-squashfs-verified1 DEV INO SIZE MTIME CTIME DIGEST
 *
 * (times in ns, DIGEST the footer's sha256 in hex), then " PATH", the
 * file's absolute path when it has no newline: a hint for pruning only,
 * never compared (the same file reached by another path is the same
 * file). A later mount whose fstat() of its open descriptor and footer
 * give the same line does not read the file again. Any other line (a
 * different file at that inode, a changed size or time, a rewritten
 * footer) verifies again and replaces the entry. `hutch system prune`
 * runs `hutch-squashfs prune-verified DIR` (hsq_verified_prune()), which
 * removes the entries whose PATH is gone or is another file now, and lock
 * files nobody holds that have no entry; an entry without a PATH (written
 * before PATH was) stays.
 *
 * Why the stat tuple is enough: every change of a file's data or
 * metadata sets its ctime to the current time, and ctime cannot be set
 * by utimensat() or anything else short of changing the clock (root) or
 * writing the block device (root). So a file changed after it was
 * verified has a different ctime; `touch -d` to restore its mtime sets
 * ctime too. Two limits, both handled:
 *   - timestamp granularity: a change within the same tick as the one
 *     before the verification (1 s on some filesystems, a jiffy on ext4)
 *     would keep the same ctime. The entry is written only when the ctime
 *     is at least HSQ_SETTLE_S seconds older than the clock when the
 *     verification began, so any later change gets a later ctime. (A
 *     network filesystem whose server clock runs ahead of ours by more
 *     than that could defeat it; the file is then re-verified, never
 *     wrongly trusted, as long as the skew is below HSQ_SETTLE_S.)
 *   - a change during the verification: the stat is taken again after the
 *     digest; when it differs nothing is written.
 * The entry is written to a temporary name and renamed, so a reader sees
 * a whole line or none. Concurrent first starts of the same file (the
 * ranks of a job) would each read it whole: the one that verifies holds
 * an exclusive flock on DIR/<dev>-<ino>.lock meanwhile, and the others
 * wait for it, then find its entry and read nothing. A file too fresh to
 * be remembered is verified by each without the lock (waiting would only
 * put the same reads one after the other). The directory is the user's own (the store's
 * mode), so another user cannot plant an entry; the user can, and only
 * fools themselves. Like the digest itself this guards against damage,
 * not against someone who rewrites the footer too.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "squashfs/hsq-internal.h"

#define ENTRY_MAX 256

static void entry_line(const struct stat *st, const struct hsq_footer *f,
		       char *out, size_t n)
{
	char hex[2 * sizeof(f->digest) + 1];

	for (size_t i = 0; i < sizeof(f->digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", f->digest[i]);
	snprintf(
		out, n,
		"hutch-squashfs-verified1 %llu %llu %lld %lld%09ld %lld%09ld %s\n",
		(unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		(long long)st->st_size, (long long)st->st_mtim.tv_sec,
		st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
		st->st_ctim.tv_nsec, hex);
}

/* Does the entry @old say what @key (entry_line()'s) says, whatever path
 * follows? */
static bool same_entry(const char *old, const char *key)
{
	size_t n = strlen(key) - 1; /* without its newline */

	return old && !strncmp(old, key, n) &&
	       (old[n] == '\n' || old[n] == ' ');
}

/* @key with the absolute path of @what (" PATH\n") when it has one
 * without a newline (owned; @key itself when not). */
static char *with_path(const char *key, const char *what)
{
	cleanup_free char *real = realpath(what, NULL);

	if (!real || strchr(real, '\n'))
		return strdup(key);
	return cmn_strdup_printf("%.*s %s\n", (int)strlen(key) - 1, key, real);
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Write @line to @cache/@name through a temporary name; a failure only
 * costs the next start a verification, so it is a debug line. */
static void remember(const char *cache, const char *name, const char *line)
{
	cleanup_free char *tmp = NULL;
	cleanup_free char *path = NULL;
	size_t len = strlen(line);
	int fd, ret = cmn_mkdir_p(cache, 0700);

	tmp = cmn_strdup_printf("%s/.%s.%ld", cache, name, (long)getpid());
	path = cmn_strdup_printf("%s/%s", cache, name);
	if (ret < 0 || !tmp || !path) {
		cmn_debug("cannot keep the verification in %s", cache);
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || cmn_write_all(fd, line, len) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		cmn_debug("cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return;
	}
	cmn_debug("verified; remembered in %s", path);
}

int hsq_verify_cached(int fd, const char *what, const char *cache,
		      struct hutch_err *err)
{
	struct stat before, after;
	struct hsq_footer f;
	struct timespec now;
	char line[ENTRY_MAX], name[64];
	cleanup_free char *path = NULL;
	cleanup_free char *old = NULL;
	cleanup_close int lock = -1;
	size_t len = 0;
	int ret;

	if (!cache)
		return hsq_verify(fd, what, NULL, NULL, err);
	if (fstat(fd, &before) < 0)
		return cmn_err_set(err, errno, "cannot stat %s", what);
	clock_gettime(CLOCK_REALTIME, &now);
	ret = hsq_read_footer(fd, what, &f, err);
	if (ret < 0)
		return ret;
	entry_line(&before, &f, line, sizeof(line));
	snprintf(name, sizeof(name), "%llx-%llx",
		 (unsigned long long)before.st_dev,
		 (unsigned long long)before.st_ino);
	path = cmn_strdup_printf("%s/%s", cache, name);
	if (!path)
		return cmn_err_set(err, ENOMEM, "%s", what);
	old = cmn_read_fileat(AT_FDCWD, path, ENTRY_MAX, &len);
	if (same_entry(old, line)) {
		cmn_debug("%s: verified before (%s), not read again", what,
			  path);
		return 0;
	}
	/* One verifies, the others of the same file wait and take its entry
	 * (the lock goes with the descriptor, however this process ends). */
	if (before.st_ctim.tv_sec <= now.tv_sec - HSQ_SETTLE_S &&
	    cmn_mkdir_p(cache, 0700) == 0) {
		cleanup_free char *lp = cmn_strdup_printf("%s.lock", path);

		lock = lp ? open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				 0600)
			  : -1;
		if (lock >= 0 && flock(lock, LOCK_EX) == 0) {
			free(old);
			old = cmn_read_fileat(AT_FDCWD, path, ENTRY_MAX, &len);
			if (same_entry(old, line)) {
				cmn_debug("%s: verified meanwhile (%s)", what,
					  path);
				return 0;
			}
		}
	}
	ret = hsq_verify(fd, what, NULL, NULL, err);
	if (ret < 0)
		return ret;
	if (fstat(fd, &after) < 0 || !same_stat(&before, &after))
		cmn_debug("%s changed while verified: not remembered", what);
	else if (before.st_ctim.tv_sec > now.tv_sec - HSQ_SETTLE_S)
		cmn_debug("%s changed less than %d s ago: not remembered", what,
			  HSQ_SETTLE_S);
	else {
		cleanup_free char *entry = with_path(line, what);

		remember(cache, name, entry ? entry : line);
	}
	return 0;
}

/* Remove @dir/@name when nobody holds its lock @dir/@name.lock (nor
 * waits for it), and the lock with it. */
static bool drop_entry(const char *dir, const char *name)
{
	cleanup_free char *path = cmn_strdup_printf("%s/%s", dir, name);
	cleanup_free char *lp = cmn_strdup_printf("%s/%s.lock", dir, name);
	cleanup_close int lock = -1;

	if (!path || !lp)
		return false;
	lock = open(lp, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0)
		return false;
	if (unlink(path) < 0 && errno != ENOENT)
		return false;
	if (lock >= 0)
		unlink(lp);
	return true;
}

/* Remove the lock @name (in @dfd) of the entry @entry that is not there,
 * when nobody holds it. A verifier that opened it and has not yet locked
 * it then locks a removed file: another may verify beside it, which costs
 * a read, never a wrong answer. */
static bool drop_lock(int dfd, const char *name, const char *entry)
{
	cleanup_close int lock =
		openat(dfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0 ||
	    fstatat(dfd, entry, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return false;
	return unlinkat(dfd, name, 0) == 0;
}

/* Is the entry @text stale: its PATH gone, or another file (device and
 * inode) now? An entry without a PATH is not. */
static bool stale(const char *text)
{
	unsigned long long dev, ino;
	struct stat st;
	char *nl, *path;
	int pos = 0, e;
	bool gone;

	if (sscanf(text, "hutch-squashfs-verified1 %llu %llu %*s %*s %*s %*s%n",
		   &dev, &ino, &pos) != 2 ||
	    pos <= 0 || text[pos] != ' ')
		return false;
	path = strdup(text + pos + 1);
	if (!path)
		return false;
	if ((nl = strchr(path, '\n')))
		*nl = '\0';
	gone = *path == '/' && stat(path, &st) < 0;
	e = errno;
	if (*path != '/' || (gone && e != ENOENT)) {
		free(path);
		return false; /* cannot tell */
	}
	free(path);
	return gone || (unsigned long long)st.st_dev != dev ||
	       (unsigned long long)st.st_ino != ino;
}

int hsq_verified_prune(const char *dir, size_t *removed, struct hutch_err *err)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;

	*removed = 0;
	if (!d)
		return errno == ENOENT
			       ? 0
			       : cmn_err_set(err, errno, "cannot list %s", dir);
	while ((de = readdir(d))) {
		cleanup_free char *text = NULL;
		cleanup_free char *entry = NULL;
		const char *dot = strrchr(de->d_name, '.');

		if (de->d_name[0] == '.')
			continue;
		/* A lock without its entry: a verification that failed or
		 * was killed. */
		if (dot && !strcmp(dot, ".lock")) {
			entry = strndup(de->d_name, (size_t)(dot - de->d_name));
			if (entry && drop_lock(dirfd(d), de->d_name, entry))
				(*removed)++;
			continue;
		}
		text = cmn_read_fileat(dirfd(d), de->d_name, ENTRY_MAX, NULL);
		if (text && stale(text) && drop_entry(dir, de->d_name))
			(*removed)++;
	}
	return 0;
}
