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

char *cmn_runtime_dir(void)
{
	const char *env = getenv("HUTCH_RUNTIME");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *tmp = getenv("TMPDIR");

	if (env && *env == '/')
		return strdup(env);
	if (usable_runtime(xdg))
		return cmn_strdup_printf("%s/hutch", xdg);
	if (tmp && *tmp == '/')
		return cmn_strdup_printf("%s/hutch-%u", tmp,
					 (unsigned)getuid());
	return cmn_strdup_printf("/tmp/hutch-%u", (unsigned)getuid());
}
