// SPDX-License-Identifier: Apache-2.0
/* idmap.c - which ids a container gets, and writing its uid_map/gid_map
 *
 * Two mappings exist for an unprivileged user:
 *
 *  full    container 0 -> the user, 1..N -> the user's subordinate ranges
 *          from /etc/subuid and /etc/subgid, written by the setuid helpers
 *          newuidmap/newgidmap (from the distribution's uidmap package).
 *          Images whose files belong to many users, apt-get's _apt user and
 *          useradd all work as under Docker.
 *  single  container 0 -> the user and nothing else, written by ourselves
 *          after denying setgroups(2) as the kernel requires. Common on HPC
 *          where accounts come from LDAP and nobody filled /etc/subuid.
 *
 * keep-id maps the user's own uid/gid to themselves, with container 0 and the
 * rest taken from the subordinate ranges when there are any (Podman's
 * --userns=keep-id), so files written to bind mounts keep the user's ids and
 * tools that refuse to run as root are content.
 *
 * We choose full automatically when the entries and helpers are there: the
 * alternative (always single, as bubblewrap does) breaks images that chown.
 *
 * A user that is not root in a single mapping (-u, or the image's USER:
 * jovyan, 1000) has no id of its own: the one mapped id is root's. Such a
 * process alone gets a user namespace nested in the container's, made just
 * before its exec, in which its uid and gid are the only ids and stand for
 * the container's root, that is for the caller (sbx_idmap_nest()). It then
 * is uid 1000 and jovyan inside, the files of the root filesystem (all of
 * them the caller's in a single mapping) are its own, and what it writes
 * to a bind mount belongs to the caller on the host. Setup, init and `exec
 * -u 0` stay root; two users of one container are both the caller. See
 * docs/DESIGN.md for the alternatives.
 */

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* One "who:start:count" line of a subid file; false for a malformed one
 * (skipped, as shadow's tools skip it). @line is cut up in place. */
static bool subid_entry(char *line, const char **who, uint32_t *start,
			uint32_t *count)
{
	char *save = NULL;
	char *w = strtok_r(line, ":\n", &save);
	char *s = strtok_r(NULL, ":\n", &save);
	char *c = strtok_r(NULL, ":\n", &save);
	uint64_t sv, cv;

	if (!w || !s || !c || !cmn_parse_u64(s, UINT32_MAX, &sv) ||
	    !cmn_parse_u64(c, UINT32_MAX, &cv) || cv == 0 ||
	    sv + cv > UINT32_MAX)
		return false;
	*who = w;
	*start = (uint32_t)sv;
	*count = (uint32_t)cv;
	return true;
}

int sbx_subid_ranges(const char *file, const char *name, uint32_t id,
		     struct sbx_id_range *out, size_t max)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	cleanup_free char *line = NULL;
	char idstr[16];
	size_t cap = 0, n = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	snprintf(idstr, sizeof(idstr), "%u", id);
	while (getline(&line, &cap, f) > 0 && n < max) {
		const char *who;
		uint32_t s, c;

		if (!subid_entry(line, &who, &s, &c))
			continue;
		if (strcmp(who, idstr) != 0 &&
		    (!name || strcmp(who, name) != 0))
			continue;
		out[n++] = (struct sbx_id_range){ 0, s, c };
	}
	return (int)n;
}

/* Move *@start past every entry of @file that overlaps [*@start,
 * *@start + @count); *@moved says whether any did. */
static int skip_taken(const char *file, uint32_t count, uint64_t *start,
		      bool *moved)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) > 0) {
		const char *who;
		uint32_t s, c;

		if (subid_entry(line, &who, &s, &c) && s < *start + count &&
		    *start < (uint64_t)s + c) {
			*start = (uint64_t)s + c;
			*moved = true;
		}
	}
	return ferror(f) ? -EIO : 0;
}

int sbx_subid_free_range(const char *subuid, const char *subgid, uint32_t from,
			 uint32_t count, uint32_t *start)
{
	uint64_t at = from;
	bool moved = true;

	/* Each pass moves past what overlaps; done when a pass moves none.
	 * The files are small (one line a user), so passes are cheap. */
	while (moved) {
		int ret;

		moved = false;
		ret = skip_taken(subuid, count, &at, &moved);
		if (ret == 0)
			ret = skip_taken(subgid, count, &at, &moved);
		if (ret < 0)
			return ret;
		/* uid 4294967295 is (uid_t)-1, never a real id. */
		if (at + count > UINT32_MAX)
			return -ENOSPC;
	}
	*start = (uint32_t)at;
	return 0;
}

/* The helper is usable when it is setuid root or carries file capabilities
 * (Fedora and RHEL ship newuidmap with cap_setuid instead of the bit). */
static const char *find_helper(const char *name, char path[static 64])
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin",
					    "/sbin", "/usr/local/bin" };
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, 64, "%s/%s", dirs[i], name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((st.st_mode & S_ISUID) && st.st_uid == 0)
			return path;
		if (getxattr(path, "security.capability", NULL, 0) > 0)
			return path;
	}
	return NULL;
}

/*
 * Lay container ids 0..total-1 over the subordinate ranges in order, but
 * with container id @keep mapped to @self instead (the caller's own id),
 * skipping nothing else. Without keep-id, @keep is 0 and @self the caller:
 * container root is the user and 1.. come from the ranges.
 */
static size_t lay_out(const struct sbx_id_range *sub, size_t n_sub,
		      uint32_t keep, uint32_t self, struct sbx_id_range *out)
{
	uint32_t next = 0; /* next container id to map */
	size_t n = 0;

	for (size_t i = 0; i < n_sub && n + 2 < SBX_MAX_RANGES; i++) {
		uint32_t outside = sub[i].outside, left = sub[i].count;

		while (left > 0 && n + 2 < SBX_MAX_RANGES) {
			uint32_t len = left;

			if (next == keep) {
				out[n++] =
					(struct sbx_id_range){ keep, self, 1 };
				next++;
				continue;
			}
			if (next < keep && next + len > keep)
				len = keep - next;
			out[n++] = (struct sbx_id_range){ next, outside, len };
			next += len;
			outside += len;
			left -= len;
		}
	}
	if (next <= keep)
		out[n++] = (struct sbx_id_range){ keep, self, 1 };
	return n;
}

static int plan_full(struct sbx_idmap *map, bool keep_id, const char **why)
{
	struct sbx_id_range subu[SBX_MAX_RANGES], subg[SBX_MAX_RANGES];
	struct passwd *pw = getpwuid(map->uid);
	const char *name = pw ? pw->pw_name : NULL;
	int nu, ng;

	nu = sbx_subid_ranges("/etc/subuid", name, map->uid, subu,
			      SBX_MAX_RANGES - 2);
	ng = sbx_subid_ranges("/etc/subgid", name, map->gid, subg,
			      SBX_MAX_RANGES - 2);
	if (nu <= 0 || ng <= 0) {
		*why = nu <= 0 ? "no /etc/subuid entry for this user"
			       : "no /etc/subgid entry for this user";
		return -ENOENT;
	}
	char buf[64];

	if (!find_helper("newuidmap", buf) || !find_helper("newgidmap", buf)) {
		*why = "newuidmap/newgidmap (package uidmap) are missing or not setuid";
		return -ENOENT;
	}
	map->full = true;
	map->n_uids =
		lay_out(subu, nu, keep_id ? map->uid : 0, map->uid, map->uids);
	map->n_gids =
		lay_out(subg, ng, keep_id ? map->gid : 0, map->gid, map->gids);
	return 0;
}

int sbx_idmap_plan(enum sbx_userns mode, struct sbx_idmap *map,
		   const char **why, struct hutch_err *err)
{
	const char *reason = NULL;
	bool keep = mode == SBX_USERNS_KEEP_ID;

	memset(map, 0, sizeof(*map));
	map->uid = getuid();
	map->gid = getgid();
	map->keep_id = keep;
	if (mode != SBX_USERNS_SINGLE && plan_full(map, keep, &reason) == 0) {
		if (why)
			*why = NULL;
		return 0;
	}
	if (mode == SBX_USERNS_SINGLE)
		reason = "single mapping requested";
	if (why)
		*why = reason;
	if (mode == SBX_USERNS_FULL) {
		cmn_err_msg(err, ENOENT, "full id mapping unavailable: %s",
			    reason);
		cmn_err_fix(
			err,
			"ask an admin to add ranges (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER) or use --userns=auto");
		return -ENOENT;
	}
	map->n_uids = map->n_gids = 1;
	map->uids[0] =
		(struct sbx_id_range){ keep ? map->uid : 0, map->uid, 1 };
	map->gids[0] =
		(struct sbx_id_range){ keep ? map->gid : 0, map->gid, 1 };
	return 0;
}

void sbx_idmap_container_ids(const struct sbx_idmap *map, uid_t *uid,
			     gid_t *gid)
{
	*uid = map->keep_id ? map->uid : 0;
	*gid = map->keep_id ? map->gid : 0;
}

bool sbx_idmap_nests(const struct sbx_idmap *map, uid_t uid, gid_t gid)
{
	uid_t u;
	gid_t g;

	if (map->full)
		return false;
	sbx_idmap_container_ids(map, &u, &g);
	return uid != u || gid != g;
}

bool sbx_idmap_maps_gid(const struct sbx_idmap *map, gid_t gid)
{
	for (size_t i = 0; i < map->n_gids; i++)
		if (gid >= map->gids[i].inside &&
		    gid - map->gids[i].inside < map->gids[i].count)
			return true;
	return false;
}

/* A running newuidmap or newgidmap and the pipe its stderr goes to. */
struct helper_run {
	const char *helper;
	pid_t pid;
	int err_fd;
};

/* posix_spawn(3) rather than fork(2): it shares our memory until the exec
 * instead of copying the page tables of a process that has libseccomp and
 * friends mapped, which is most of a helper's cost. Returns an errno. */
static int spawn_with_stderr(const char *path, char **argv, int err_fd,
			     pid_t *pid)
{
	static char *const no_env[] = { NULL };
	posix_spawn_file_actions_t fa;
	int ret;

	ret = posix_spawn_file_actions_init(&fa);
	if (ret)
		return ret;
	ret = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (ret == 0)
		ret = posix_spawn(pid, path, &fa, NULL, argv, no_env);
	posix_spawn_file_actions_destroy(&fa);
	return ret;
}

/* Start `HELPER PID INSIDE OUTSIDE COUNT ...`. */
static int start_helper(const char *helper, pid_t pid,
			const struct sbx_id_range *r, size_t n,
			struct helper_run *run, struct hutch_err *err)
{
	char bufs[SBX_MAX_RANGES * 3 + 1][16];
	char *argv[SBX_MAX_RANGES * 3 + 3];
	size_t a = 0, b = 0;
	int pipefd[2], ret;

	argv[a++] = (char *)helper;
	snprintf(bufs[b], sizeof(bufs[b]), "%d", (int)pid);
	argv[a++] = bufs[b++];
	for (size_t i = 0; i < n; i++) {
		const uint32_t v[3] = { r[i].inside, r[i].outside, r[i].count };

		for (int k = 0; k < 3; k++) {
			snprintf(bufs[b], sizeof(bufs[b]), "%u", v[k]);
			argv[a++] = bufs[b++];
		}
	}
	argv[a] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return cmn_err_set(err, errno, "pipe");
	run->helper = helper;
	ret = spawn_with_stderr(helper, argv, pipefd[1], &run->pid);
	close(pipefd[1]);
	if (ret != 0) {
		close(pipefd[0]);
		return cmn_err_set(err, ret, "cannot start %s", helper);
	}
	run->err_fd = pipefd[0];
	return 0;
}

/* Wait for it; its stderr becomes our message when it fails. */
static int finish_helper(struct helper_run *run, struct hutch_err *err)
{
	char msg[512] = "";
	ssize_t len = cmn_read_all(run->err_fd, msg, sizeof(msg) - 1);
	int status = 0;

	close(run->err_fd);
	msg[len > 0 ? len : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	cmn_err_msg(err, EPERM, "%s failed: %s", run->helper,
		    msg[0] ? msg : "no message");
	cmn_err_fix(
		err,
		"check /etc/subuid and /etc/subgid, or use --userns=single");
	return -EPERM;
}

/* Both helpers run at once: each is a fork and an exec of a setuid binary,
 * the largest part of a container's start-up with a full mapping. */
static int apply_full(pid_t pid, const struct sbx_idmap *map,
		      struct hutch_err *err)
{
	char upath[64], gpath[64];
	struct helper_run u, g;
	struct hutch_err gerr = { 0 };
	int ret, gret;

	if (!find_helper("newuidmap", upath) ||
	    !find_helper("newgidmap", gpath))
		return cmn_err_msg(err, ENOENT,
				   "newuidmap/newgidmap disappeared");
	ret = start_helper(upath, pid, map->uids, map->n_uids, &u, err);
	if (ret < 0)
		return ret;
	gret = start_helper(gpath, pid, map->gids, map->n_gids, &g, &gerr);
	ret = finish_helper(&u, err);
	if (gret == 0)
		gret = finish_helper(&g, &gerr);
	if (ret == 0 && gret < 0) {
		if (err)
			*err = gerr;
		ret = gret;
	}
	return ret;
}

static int write_proc(pid_t pid, const char *file, const char *data,
		      struct hutch_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (cmn_write_fileat(AT_FDCWD, path, data, strlen(data), 0) < 0)
		return cmn_err_set(err, errno, "cannot write %s", path);
	return 0;
}

int sbx_idmap_apply(pid_t pid, const struct sbx_idmap *map,
		    struct hutch_err *err)
{
	char line[64];
	int ret;

	if (map->full)
		return apply_full(pid, map, err);
	snprintf(line, sizeof(line), "%u %u 1\n", map->uids[0].inside,
		 map->uids[0].outside);
	ret = write_proc(pid, "uid_map", line, err);
	if (ret < 0)
		return ret;
	/* The kernel only lets an unprivileged writer map a gid after
	 * setgroups(2) is denied for good (CVE-2014-8989). */
	ret = write_proc(pid, "setgroups", "deny", err);
	if (ret < 0)
		return ret;
	snprintf(line, sizeof(line), "%u %u 1\n", map->gids[0].inside,
		 map->gids[0].outside);
	return write_proc(pid, "gid_map", line, err);
}

/* One "INSIDE OUTSIDE 1" line into the calling process's @file. */
static int write_self(const char *file, uint32_t inside, uint32_t outside,
		      struct hutch_err *err)
{
	char line[64];

	snprintf(line, sizeof(line), "%u %u 1\n", inside, outside);
	return write_proc(getpid(), file, line, err);
}

int sbx_idmap_nest(uid_t uid, gid_t gid, struct hutch_err *err)
{
	uid_t outer_uid = geteuid();
	gid_t outer_gid = getegid();
	int ret;

	/* The kernel lets the creator of a user namespace map its own ids
	 * (one line each) without privilege over the parent; setgroups(2)
	 * is denied already, inherited from the container's namespace. */
	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;

		cmn_err_set(err, e, "cannot make a user namespace for uid %u",
			    (unsigned)uid);
		if (e == ENOSPC || e == EUSERS)
			cmn_err_fix(
				err,
				"the user namespace limit is reached (user.max_user_namespaces): run with -u 0, or ask an admin for /etc/subuid and /etc/subgid ranges");
		return -e;
	}
	ret = write_self("uid_map", uid, outer_uid, err);
	if (ret == 0)
		ret = write_proc(getpid(), "setgroups", "deny", err);
	if (ret == 0)
		ret = write_self("gid_map", gid, outer_gid, err);
	return ret;
}
