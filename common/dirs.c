// SPDX-License-Identifier: Apache-2.0
/* dirs.c - where hutch keeps its store and its runtime state (DESIGN.md) */

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home == '/')
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

char *cmn_store_dir(void)
{
	const char *root = getenv("HUTCH_ROOT");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home;

	if (root && *root == '/')
		return strdup(root);
	if (xdg && *xdg == '/')
		return cmn_strdup_printf("%s/hutch", xdg);
	home = home_dir();
	if (!home) {
		errno = ENOENT;
		return NULL;
	}
	return cmn_strdup_printf("%s/.local/share/hutch", home);
}

/* Slurm jobs often lack XDG_RUNTIME_DIR or inherit one that points at a
 * directory of the login session that no longer exists on the compute
 * node: only use it when it is there and ours. */
static bool usable_runtime(const char *dir)
{
	struct stat st;

	return dir && *dir == '/' && stat(dir, &st) == 0 &&
	       S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
	       access(dir, W_OK) == 0;
}

static bool usable_tmp(const char *dir)
{
	struct stat st;

	return dir && *dir == '/' && stat(dir, &st) == 0 &&
	       S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0;
}

#define LOCAL_FIX \
	"set TMPDIR to a node-local directory you own (containers of a store on a shared filesystem keep their changes there)"

char *cmn_runtime_dir(void)
{
	const char *env = getenv("HUTCH_RUNTIME");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *tmp = getenv("TMPDIR");

	if (env && *env == '/')
		return strdup(env);
	if (usable_runtime(xdg))
		return cmn_strdup_printf("%s/hutch", xdg);
	/* A TMPDIR that is gone (a job's, removed at its end) or not
	 * writable falls back too, rather than failing every command. */
	if (usable_tmp(tmp))
		return cmn_strdup_printf("%s/hutch-%u", tmp,
					 (unsigned)getuid());
	return cmn_strdup_printf("/tmp/hutch-%u", (unsigned)getuid());
}

/* @dir made if needed (0700, parents too) and checked to be a private
 * directory of ours; @what names it in the error. */
static int private_dir(const char *dir, const char *what, const char *fix,
		       struct hutch_err *err)
{
	struct stat st;
	int ret = cmn_mkdir_p(dir, 0700);

	if (ret < 0) {
		cmn_err_set(err, -ret, "cannot create the %s %s", what, dir);
		cmn_err_fix(err, "%s", fix);
		return ret;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 0077)) {
		cmn_err_msg(
			err, EPERM,
			"the %s %s is not a private directory of yours (owner %u, mode %03o)",
			what, dir, (unsigned)st.st_uid, st.st_mode & 0777);
		cmn_err_fix(err, "remove it, or %s", fix);
		return -EPERM;
	}
	return 0;
}

/* $TMPDIR/hutch-$UID, else /tmp/hutch-$UID: where the node-local
 * directories of every store are. */
static char *local_base(void)
{
	const char *tmp = getenv("TMPDIR");

	return cmn_strdup_printf("%s/hutch-%u", usable_tmp(tmp) ? tmp : "/tmp",
				 (unsigned)getuid());
}

char *cmn_local_dir(const char *store)
{
	cleanup_free char *base = local_base();

	if (!store || !base) {
		errno = store ? ENOMEM : EINVAL;
		return NULL;
	}
	return cmn_strdup_printf("%s/local/%016llx", base,
				 (unsigned long long)cmn_fnv1a64(
					 CMN_FNV_INIT, store, strlen(store)));
}

char *cmn_local_dir_open(const char *store, struct hutch_err *err)
{
	cleanup_free char *base = local_base();
	cleanup_free char *dir = cmn_local_dir(store);

	if (!base || !dir) {
		cmn_err_set(err, ENOMEM, "node-local directory");
		return NULL;
	}
	/* $TMPDIR/hutch-$UID is checked as the runtime directory is:
	 * another user may have made it first. */
	if (private_dir(base, "node-local directory", LOCAL_FIX, err) < 0 ||
	    private_dir(dir, "node-local directory", LOCAL_FIX, err) < 0)
		return NULL;
	return steal_ptr(&dir);
}

char *cmn_runtime_dir_open(struct hutch_err *err)
{
	cleanup_free char *dir = cmn_runtime_dir();

	if (!dir) {
		cmn_err_set(err, errno, "cannot find a runtime directory");
		return NULL;
	}
	if (private_dir(
		    dir, "runtime directory",
		    "set HUTCH_RUNTIME to a directory you own with mode 0700",
		    err) < 0)
		return NULL;
	return steal_ptr(&dir);
}
