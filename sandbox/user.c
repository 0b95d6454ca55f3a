// SPDX-License-Identifier: Apache-2.0
/* user.c - resolve `-u name|uid[:group|gid]` against the container's own
 * /etc/passwd and /etc/group, with Docker's rules.
 *
 * We parse the files with fgetpwent(3)/fgetgrent(3) rather than getpwnam(3):
 * the latter goes through NSS, which would load shared objects from the
 * container's /lib into hutch (and talk to the host's sssd). Docker's rules:
 * a name must exist; a number need not (then the gid is 0 and HOME is "/");
 * supplementary groups are those that list the user by name.
 */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "sandbox/sandbox-internal.h"

static bool is_number(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!cmn_parse_u64(s, UINT32_MAX - 1, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Find by name (when !numeric) or by uid; fills @out. 0, or -ENOENT. */
static int find_passwd(const char *file, const char *name, bool numeric,
		       uid_t uid, struct sbx_user *out, char *login,
		       size_t login_len)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	struct passwd *pw;

	if (!f)
		return -ENOENT;
	while ((pw = fgetpwent(f))) {
		if (numeric ? pw->pw_uid != uid : strcmp(pw->pw_name, name))
			continue;
		out->uid = pw->pw_uid;
		out->gid = pw->pw_gid;
		snprintf(out->home, sizeof(out->home), "%s",
			 pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
		snprintf(login, login_len, "%s", pw->pw_name);
		return 0;
	}
	return -ENOENT;
}

static int find_group(const char *file, const char *name, gid_t *gid)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	struct group *gr;

	if (!f)
		return -ENOENT;
	while ((gr = fgetgrent(f)))
		if (!strcmp(gr->gr_name, name)) {
			*gid = gr->gr_gid;
			return 0;
		}
	return -ENOENT;
}

static void add_group(struct sbx_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return;
	if (u->n_groups < SBX_MAX_GROUPS)
		u->groups[u->n_groups++] = g;
}

/* The primary group, then every group that names @login as a member. */
static void collect_groups(const char *file, const char *login,
			   struct sbx_user *u)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	struct group *gr;

	add_group(u, u->gid);
	if (!f || !*login)
		return;
	while ((gr = fgetgrent(f)))
		for (char **m = gr->gr_mem; m && *m; m++)
			if (!strcmp(*m, login))
				add_group(u, gr->gr_gid);
}

static int resolve_group(const char *spec, const char *group,
			 struct sbx_user *out, struct hutch_err *err)
{
	uint32_t n;

	if (is_number(spec, &n)) {
		out->gid = n;
		return 0;
	}
	if (find_group(group, spec, &out->gid) == 0)
		return 0;
	return cmn_err_msg(
		err, ENOENT,
		"unable to find group %s: no matching entries in group file",
		spec);
}

int sbx_user_resolve(const char *spec, const char *passwd, const char *group,
		     struct sbx_user *out, struct hutch_err *err)
{
	char user[256], login[256] = "";
	const char *colon;
	bool numeric;
	uint32_t n = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->home, sizeof(out->home), "/");
	if (!spec || !*spec)
		spec = "0";
	colon = strchr(spec, ':');
	snprintf(user, sizeof(user), "%.*s",
		 (int)(colon ? (size_t)(colon - spec) : strlen(spec)), spec);
	if (!*user)
		snprintf(user, sizeof(user), "0");
	numeric = is_number(user, &n);
	if (find_passwd(passwd, user, numeric, n, out, login, sizeof(login))) {
		if (!numeric)
			return cmn_err_msg(
				err, ENOENT,
				"unable to find user %s: no matching entries in passwd file",
				user);
		out->uid = n;
		out->gid = 0;
	}
	if (colon && colon[1] && resolve_group(colon + 1, group, out, err) < 0)
		return -ENOENT;
	collect_groups(group, login, out);
	return 0;
}
