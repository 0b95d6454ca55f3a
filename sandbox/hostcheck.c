// SPDX-License-Identifier: Apache-2.0
/* hostcheck.c - can this machine run rootless containers? (`hutch info`)
 *
 * Theory of operation
 *
 * The report walks the steps a container start takes, in the order the
 * kernel sees them, and names the first one it refuses: the kernel, the
 * sysctls that gate unprivileged user namespaces, a real user namespace
 * (unshare, id map, a mount), the id mapping hutch run would choose, the
 * devices FUSE and user-mode networking need, kernel overlayfs in a user
 * namespace, cgroup delegation, the filesystems of the store and the
 * runtime directory, and hutch's own installation (its helper programs
 * found, runnable and of its own build). Every problem gets one line
 * saying what to do.
 *
 * Reading sysctls alone is not enough: seccomp filters of an outer container
 * (Docker's default profile refuses unshare), AppArmor's restriction on
 * Ubuntu 23.10+ (unshare succeeds, the first mount fails) and LSMs all
 * answer only when asked. So the user-namespace and overlay checks fork a
 * child that really does the work and sends back the step that failed and
 * its errno. The child's mount namespace dies with it, so nothing it
 * mounts is ever visible on the host; whatever the overlay probe creates on
 * disk is removed by the parent.
 *
 * Nothing here prints: the CLI formats the report.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* Magic numbers <linux/magic.h> lacks (the filesystems' own headers). */
#define LUSTRE_MAGIC 0x0BD00BD0
#define GPFS_MAGIC   0x47504653
#define BEEGFS_MAGIC 0x19830326
#define ZFS_MAGIC    0x2FC12FC1
#define GFS2_MAGIC   0x01161970
#define PANFS_MAGIC  0xAAD7AAEA
#define BCACHEFS_MAG 0xCA451A4E

/* ---- building the report ----------------------------------------------- */

/* The report being filled; @oom records a failed allocation so that each
 * check can stay a straight line and the caller fails once at the end. */
struct builder {
	struct sbx_report rep;
	const char *procsys;
	bool oom;
};

/* Append one line; takes ownership of @value and @fix (either may be NULL
 * after a failed allocation, which is recorded). */
static void add(struct builder *b, const char *name, enum sbx_check_state state,
		char *value, char *fix)
{
	struct sbx_check *c;

	if (!value || (state != SBX_CHECK_OK && !fix))
		goto oom;
	c = realloc(b->rep.checks, (b->rep.n + 1) * sizeof(*c));
	if (!c)
		goto oom;
	b->rep.checks = c;
	c[b->rep.n++] = (struct sbx_check){ name, value, state, fix, NULL };
	return;
oom:
	free(value);
	free(fix);
	b->oom = true;
}

/* Give line @at, when add() made it, @detail (owned, may be NULL). */
static void add_detail(struct builder *b, size_t at, char *detail)
{
	if (at < b->rep.n && !b->rep.checks[at].detail)
		b->rep.checks[at].detail = detail;
	else
		free(detail);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void sbx_report_free(struct sbx_report *rep)
{
	if (!rep)
		return;
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->checks[i].value);
		free(rep->checks[i].fix);
		free(rep->checks[i].detail);
	}
	free(rep->checks);
	rep->checks = NULL;
	rep->n = 0;
}

/* ---- small readers ------------------------------------------------------ */

/* A sysctl as a number: -1 when missing or not a number (not a blocker). */
static long read_sysctl(const char *procsys, const char *rel)
{
	cleanup_free char *path = cmn_strdup_printf("%s/%s", procsys, rel);
	cleanup_free char *text =
		path ? cmn_read_fileat(AT_FDCWD, path, 64, NULL) : NULL;
	uint64_t v;

	if (!text)
		return -1;
	text[strcspn(text, " \t\n")] = '\0';
	return cmn_parse_u64(text, 1UL << 30, &v) ? (long)v : -1;
}

/* The first line of a small file, trailing newline removed; NULL if none. */
static char *read_line(const char *path)
{
	char *text = cmn_read_fileat(AT_FDCWD, path, 65536, NULL);

	if (text)
		text[strcspn(text, "\n")] = '\0';
	return text;
}

/* ---- the sysctl gates ---------------------------------------------------- */

/**
 * struct gate - one sysctl that can forbid unprivileged user namespaces
 * @file: relative to the sysctl root
 * @bad:  the value that forbids them
 * @why:  what that value means
 * @fix:  what to do; NULL for AppArmor's, made for our path by gate_fix()
 */
struct gate {
	const char *file;
	const char *name;
	long bad;
	const char *why;
	const char *fix;
};

static const struct gate gates[] = {
	{ "user/max_user_namespaces", "user.max_user_namespaces", 0,
	  "no user namespace may be created",
	  "sudo sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)" },
	{ "kernel/unprivileged_userns_clone",
	  "kernel.unprivileged_userns_clone", 0,
	  "this kernel's switch forbids unprivileged user namespaces",
	  "sudo sysctl -w kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/)" },
	/* Its fix is the profile for this binary's path: gate_fix(). */
	{ "kernel/apparmor_restrict_unprivileged_userns",
	  "kernel.apparmor_restrict_unprivileged_userns", 1,
	  "AppArmor lets only programs with a profile use user namespaces",
	  NULL },
	{ "user/max_mnt_namespaces", "user.max_mnt_namespaces", 0,
	  "no mount namespace may be created",
	  "sudo sysctl -w user.max_mnt_namespaces=15000" },
	{ "user/max_pid_namespaces", "user.max_pid_namespaces", 0,
	  "no pid namespace may be created",
	  "sudo sysctl -w user.max_pid_namespaces=15000" },
	{ "user/max_uts_namespaces", "user.max_uts_namespaces", 0,
	  "no uts namespace may be created",
	  "sudo sysctl -w user.max_uts_namespaces=15000" },
	{ "user/max_ipc_namespaces", "user.max_ipc_namespaces", 0,
	  "no ipc namespace may be created",
	  "sudo sysctl -w user.max_ipc_namespaces=15000" },
	{ "user/max_cgroup_namespaces", "user.max_cgroup_namespaces", 0,
	  "no cgroup namespace may be created",
	  "sudo sysctl -w user.max_cgroup_namespaces=15000" },
};

/* Are we under an AppArmor profile written for hutch ("hutch (unconfined)"
 * for packaging/apparmor/hutch)? Such a profile is what lifts Ubuntu's
 * restriction for one program. */
static bool apparmor_allows_hutch(void)
{
	cleanup_free char *label =
		read_line("/proc/self/attr/apparmor/current");

	if (!label)
		label = read_line("/proc/self/attr/current");
	return label && strncmp(label, "unconfined", 10) != 0 &&
	       strstr(label, "hutch") != NULL;
}

/* The first gate that is closed, or NULL. */
static const struct gate *closed_gate(const char *procsys)
{
	for (size_t i = 0; i < ARRAY_SIZE(gates); i++) {
		if (read_sysctl(procsys, gates[i].file) != gates[i].bad)
			continue;
		if (gates[i].bad == 1 && apparmor_allows_hutch())
			continue;
		return &gates[i];
	}
	return NULL;
}

/* Where no profile can be made for our path (it cannot be read, or holds
 * a control character). */
#define APPARMOR_FIX \
	"install hutch's AppArmor profile from packaging/apparmor/ into /etc/apparmor.d/, with the path of your hutch binary in it, and load it with sudo apparmor_parser -r, or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"

/* The fix for gate @g (owned). AppArmor's is the profile for the running
 * binary's path, whose text goes to *@profile (owned) when asked for. */
static char *gate_fix(const struct gate *g, char **profile)
{
	cleanup_free char *exe = g->fix ? NULL : sbx_self_exe();
	struct sbx_apparmor aa;
	char *fix, *deleted;

	if (profile)
		*profile = NULL;
	if (g->fix)
		return strdup(g->fix);
	/* Replaced under us (an upgrade): the path is still the one. */
	deleted = exe ? strstr(exe, " (deleted)") : NULL;
	if (deleted && !deleted[strlen(" (deleted)")])
		*deleted = '\0';
	if (sbx_apparmor_profile(exe, &aa) < 0)
		return strdup(APPARMOR_FIX);
	fix = sbx_apparmor_fix(&aa);
	if (profile)
		*profile = steal_ptr(&aa.text);
	sbx_apparmor_free(&aa);
	return fix;
}

const char *sbx_procsys(void)
{
	const char *env = getenv("HUTCH_PROCSYS");

	return env && *env == '/' ? env : "/proc/sys";
}

char *sbx_userns_blocker(const char *procsys)
{
	const struct gate *g = closed_gate(procsys);
	cleanup_free char *fix = g ? gate_fix(g, NULL) : NULL;

	if (!g || !fix)
		return NULL;
	return cmn_strdup_printf("%s is %ld: %s; fix: %s", g->name, g->bad,
				 g->why, fix);
}

/* ---- probes in a child process ------------------------------------------ */

/*
 * A probe runs in a forked child and returns 0, or -errno with *@step set to
 * a string literal naming what failed. The literal's address is the same in
 * the parent (fork copies the image, nothing is exec'd), so the pointer
 * itself travels over the pipe.
 */
struct probe_result {
	const char *step; /* NULL: every step passed */
	int err;
};

typedef int (*probe_fn)(const void *arg, const char **step);

static int write_proc(const char *path, const char *text)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return cmn_write_all(fd, text, strlen(text));
}

/* Enter a new user and mount namespace as root mapped to our own ids. */
static int enter_userns(const char **step)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int ret;

	*step = "unshare(CLONE_NEWUSER|CLONE_NEWNS)";
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -errno;
	*step = "write /proc/self/setgroups";
	ret = write_proc("/proc/self/setgroups", "deny");
	if (ret < 0 && ret != -ENOENT) /* before 3.19 there is no such file */
		return ret;
	*step = "write /proc/self/uid_map";
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	ret = write_proc("/proc/self/uid_map", map);
	if (ret < 0)
		return ret;
	*step = "write /proc/self/gid_map";
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	ret = write_proc("/proc/self/gid_map", map);
	if (ret < 0)
		return ret;
	*step = "make mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	return 0;
}

static int probe_userns(const void *arg, const char **step)
{
	int ret = enter_userns(step);

	(void)arg;
	if (ret < 0)
		return ret;
	*step = "mount tmpfs";
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") <
	    0)
		return -errno;
	return 0;
}

/* Runs in the probe directory @arg, prepared by overlay_prepare(): mount,
 * then the three writes a container's upper dir needs. */
static int probe_overlay(const void *arg, const char **step)
{
	int ret = enter_userns(step);
	cleanup_close int fd = -1;

	if (ret < 0)
		return ret;
	*step = "enter the probe directory";
	if (chdir((const char *)arg) < 0)
		return -errno;
	/* Relative paths: the store's path may contain ',' or ':', which
	 * overlayfs's option parser would split on. */
	*step = "mount overlay (userxattr)";
	if (mount("overlay", "merged", "overlay", 0,
		  "lowerdir=lower,upperdir=upper,workdir=work,userxattr") < 0)
		return -errno;
	*step = "create a file in the overlay";
	fd = open("merged/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	*step = "delete a lower file (whiteout)";
	if (unlink("merged/file") < 0)
		return -errno;
	*step = "replace a lower directory (opaque directory)";
	if (rmdir("merged/dir") < 0 || mkdir("merged/dir", 0755) < 0)
		return -errno;
	return 0;
}

static void probe_child(int wfd, probe_fn fn, const void *arg)
{
	struct probe_result res = { "start the probe", 0 };
	int ret = fn(arg, &res.step);

	if (ret == 0)
		res.step = NULL;
	res.err = -ret;
	(void)!write(wfd, &res, sizeof(res));
	_exit(0);
}

/* Fork, run @fn in the child, and collect what it found. A child killed
 * before it could answer (a seccomp filter with SCMP_ACT_KILL) is reported
 * as the step "probe killed by a signal" with the signal in @err. */
static int run_probe(probe_fn fn, const void *arg, struct probe_result *res)
{
	int fds[2];
	ssize_t n;
	pid_t pid;
	int status = 0;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int saved = errno;

		close(fds[0]);
		close(fds[1]);
		return -saved;
	}
	if (pid == 0) {
		close(fds[0]);
		probe_child(fds[1], fn, arg);
	}
	close(fds[1]);
	do
		n = read(fds[0], res, sizeof(*res));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*res)) {
		res->step = "probe killed by a signal";
		res->err = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	return 0;
}

/* "step: strerror" for a failed probe; owned. */
static char *probe_failure(const struct probe_result *res)
{
	if (!strcmp(res->step, "probe killed by a signal"))
		return cmn_strdup_printf("no: %s (signal %d)", res->step,
					 res->err);
	return cmn_strdup_printf("no: %s failed: %s", res->step,
				 strerror(res->err));
}

/* ---- 1. kernel ----------------------------------------------------------- */

static void check_kernel(struct builder *b)
{
	struct utsname u;

	if (uname(&u) < 0) {
		add(b, "kernel", SBX_CHECK_WARN, strdup("unknown"),
		    cmn_strdup_printf("uname failed: %s", strerror(errno)));
		return;
	}
	add(b, "kernel", SBX_CHECK_OK,
	    cmn_strdup_printf("%s %s", u.release, u.machine), NULL);
}

/* ---- 2. user namespaces -------------------------------------------------- */

/* Is a seccomp filter attached to us (an outer container's profile)? */
static bool under_seccomp_filter(void)
{
	cleanup_free char *status =
		cmn_read_fileat(AT_FDCWD, "/proc/self/status", 1 << 16, NULL);
	const char *p = status ? strstr(status, "\nSeccomp:") : NULL;

	return p && strtol(p + strlen("\nSeccomp:"), NULL, 10) == 2;
}

/* The fix for a probe that failed although no sysctl forbids it. */
static const char *userns_probe_fix(const struct probe_result *res)
{
	bool at_unshare = cmn_has_prefix(res->step, "unshare");

	if (at_unshare && res->err == EINVAL)
		return "this kernel was built without user namespaces (CONFIG_USER_NS); ask an admin for a kernel with them";
	if (at_unshare && res->err == ENOSPC)
		return "the user namespace limit of this or an enclosing namespace is reached (a sandbox such as bwrap --disable-userns, or user.max_user_namespaces): run hutch outside that sandbox, or ask an admin: sudo sysctl -w user.max_user_namespaces=15000";
	if (under_seccomp_filter())
		return "a seccomp filter on this process (an outer container?) refuses it: run hutch on the host, or start the outer container with --security-opt seccomp=unconfined";
	return "a security module (AppArmor, SELinux) refuses it: on Ubuntu install hutch's AppArmor profile from packaging/apparmor/, or ask an admin to allow unprivileged user namespaces";
}

static void check_userns(struct builder *b)
{
	const struct gate *g = closed_gate(b->procsys);
	struct probe_result res = { 0 };
	long net;
	int ret;

	if (g) {
		size_t at = b->rep.n;
		char *profile = NULL;

		add(b, "user namespaces", SBX_CHECK_FAIL,
		    cmn_strdup_printf("no: %s is %ld (%s)", g->name, g->bad,
				      g->why),
		    gate_fix(g, &profile));
		add_detail(b, at, profile);
	} else if ((ret = run_probe(probe_userns, NULL, &res)) < 0) {
		add(b, "user namespaces", SBX_CHECK_FAIL,
		    cmn_strdup_printf("unknown: cannot fork a probe: %s",
				      strerror(-ret)),
		    strdup("free memory or processes, then retry"));
	} else if (res.step) {
		add(b, "user namespaces", SBX_CHECK_FAIL, probe_failure(&res),
		    strdup(userns_probe_fix(&res)));
	} else {
		add(b, "user namespaces", SBX_CHECK_OK, strdup("yes"), NULL);
	}
	net = read_sysctl(b->procsys, "user/max_net_namespaces");
	if (net == 0)
		add(b, "network namespaces", SBX_CHECK_WARN,
		    strdup("no: user.max_net_namespaces is 0 (--network slirp and none are unavailable; host works)"),
		    strdup("sudo sysctl -w user.max_net_namespaces=15000"));
}

/* ---- 3. id mapping ------------------------------------------------------- */

/* Where idmap.c looks for newuidmap/newgidmap: fixed places only, never
 * $PATH, because a setuid helper must not be chosen by the environment. */
#define IDMAP_HELPER_DIRS "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin"

/* "a -> b" or "a-b -> c-d" for each range, joined with "; ". */
static char *format_ranges(const struct sbx_id_range *r, size_t n)
{
	char buf[512] = "";
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(buf); i++) {
		const char *sep = i ? "; " : "";

		if (r[i].count == 1)
			len += snprintf(buf + len, sizeof(buf) - len,
					"%s%u -> %u", sep, r[i].inside,
					r[i].outside);
		else
			len += snprintf(buf + len, sizeof(buf) - len,
					"%s%u-%u -> %u-%u", sep, r[i].inside,
					r[i].inside + r[i].count - 1,
					r[i].outside,
					r[i].outside + r[i].count - 1);
	}
	return strdup(buf);
}

static bool same_ranges(const struct sbx_idmap *m)
{
	return m->n_uids == m->n_gids &&
	       !memcmp(m->uids, m->gids, m->n_uids * sizeof(m->uids[0]));
}

static char *format_map(const struct sbx_idmap *m)
{
	cleanup_free char *uids = format_ranges(m->uids, m->n_uids);
	cleanup_free char *gids = format_ranges(m->gids, m->n_gids);

	if (!uids || !gids)
		return NULL;
	if (same_ranges(m))
		return cmn_strdup_printf("full (uid %s)", uids);
	return cmn_strdup_printf("full (uid %s; gid %s)", uids, gids);
}

static char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name)
		return strdup(pw->pw_name);
	return cmn_strdup_printf("%u", (unsigned)getuid());
}

#define SINGLE_NOTE \
	"; single mapping works for most images: builds emulate root, and a non-root USER runs as you"
#define RANGE_NOTE "65536 ids that /etc/subuid and /etc/subgid give nobody yet"

/* usermod's "FIRST-LAST" for 65536 subordinate ids that no entry of
 * /etc/subuid or /etc/subgid gives to anyone yet, from 100000 on (where
 * useradd starts them); words for an admin when none can be computed. */
static void free_subid_range(char *buf, size_t size)
{
	uint32_t start;

	if (sbx_subid_free_range("/etc/subuid", "/etc/subgid", 100000, 65536,
				 &start) == 0)
		snprintf(buf, size, "%u-%u", start, start + 65535);
	else
		snprintf(buf, size, "FIRST-LAST");
}

/* How to get full mapping: subordinate ids (@why names /etc/subuid or
 * /etc/subgid) and/or working newuidmap/newgidmap. */
static char *single_fix(const char *why, bool have_helpers)
{
	cleanup_free char *user = login_name();
	bool need_ids = why && strstr(why, "/etc/sub");
	char range[32];

	if (!user)
		return NULL;
	free_subid_range(range, sizeof(range));
	if (need_ids && !have_helpers)
		return cmn_strdup_printf(
			"ask an admin: sudo usermod --add-subuids %s --add-subgids %s %s (%s), and install uidmap for newuidmap/newgidmap" SINGLE_NOTE,
			range, range, user, RANGE_NOTE);
	if (need_ids)
		return cmn_strdup_printf(
			"ask an admin: sudo usermod --add-subuids %s --add-subgids %s %s (%s)" SINGLE_NOTE,
			range, range, user, RANGE_NOTE);
	return strdup(
		"ask an admin to install uidmap (setuid newuidmap/newgidmap): sudo apt-get install uidmap, or dnf install shadow-utils" SINGLE_NOTE);
}

static void check_idmap_mode(struct builder *b, bool have_helpers)
{
	struct sbx_idmap map = { 0 };
	struct hutch_err err = { 0 };
	const char *why = NULL;
	int ret = sbx_idmap_plan(SBX_USERNS_AUTO, &map, &why, &err);

	if (ret < 0) {
		add(b, "id mapping", SBX_CHECK_WARN, strdup(err.msg),
		    single_fix(why, have_helpers));
	} else if (map.full) {
		add(b, "id mapping", SBX_CHECK_OK, format_map(&map), NULL);
	} else {
		add(b, "id mapping", SBX_CHECK_WARN,
		    cmn_strdup_printf("single (uid 0 -> %u only: %s)",
				      (unsigned)map.uid,
				      why ? why : "no subordinate ids"),
		    single_fix(why, have_helpers));
	}
}

/* newuidmap/newgidmap: present, and able to act (setuid root or file
 * capabilities; a package unpacked without either fails at run time). */
static bool check_helper(struct builder *b, const char *name)
{
	cleanup_free char *path =
		sbx_find_program(name, IDMAP_HELPER_DIRS, false);
	struct stat st;

	if (!path) {
		add(b, name, SBX_CHECK_WARN, strdup("not found"),
		    strdup("needed for full id mapping: sudo apt-get install uidmap (or dnf install shadow-utils)"));
		return false;
	}
	if (stat(path, &st) == 0 && st.st_uid == 0 && (st.st_mode & S_ISUID)) {
		add(b, name, SBX_CHECK_OK,
		    cmn_strdup_printf("%s (setuid root)", path), NULL);
		return true;
	}
	if (getxattr(path, "security.capability", NULL, 0) > 0) {
		add(b, name, SBX_CHECK_OK,
		    cmn_strdup_printf("%s (file capabilities)", path), NULL);
		return true;
	}
	add(b, name, SBX_CHECK_WARN,
	    cmn_strdup_printf("%s (neither setuid root nor file capabilities)",
			      path),
	    cmn_strdup_printf(
		    "sudo chmod u+s %s (or sudo setcap cap_setuid,cap_setgid+ep %s)",
		    path, path));
	return false;
}

static void check_idmap(struct builder *b)
{
	size_t at = b->rep.n;
	bool uid_ok = check_helper(b, "newuidmap");
	bool gid_ok = check_helper(b, "newgidmap");
	struct sbx_check line;

	check_idmap_mode(b, uid_ok && gid_ok);
	/* The mode reads best first; the helpers were checked first only
	 * because the mode's fix depends on them. */
	if (b->rep.n == at + 3) {
		line = b->rep.checks[at + 2];
		memmove(&b->rep.checks[at + 1], &b->rep.checks[at],
			2 * sizeof(line));
		b->rep.checks[at] = line;
	}
}

/* ---- 4. and 5. devices --------------------------------------------------- */

static void check_device(struct builder *b, const char *dev, const char *what,
			 const char *fix)
{
	int e;

	if (access(dev, R_OK | W_OK) == 0) {
		add(b, dev, SBX_CHECK_OK, strdup("read-write"), NULL);
		return;
	}
	e = errno;
	add(b, dev, SBX_CHECK_WARN,
	    cmn_strdup_printf("%s: %s (%s)",
			      e == ENOENT ? "missing" : "not accessible",
			      strerror(e), what),
	    strdup(fix));
}

static void check_devices(struct builder *b)
{
	cleanup_free char *fusermount = sbx_find_program(
		"fusermount3", "/usr/bin:/bin:/usr/local/bin", true);

	check_device(
		b, "/dev/fuse",
		"hutch-overlay cannot mount; kernel overlayfs may be used instead",
		"sudo chmod 0666 /dev/fuse (and sudo modprobe fuse), or install fuse3");
	if (fusermount)
		add(b, "fusermount3", SBX_CHECK_OK, steal_ptr(&fusermount),
		    NULL);
	else
		add(b, "fusermount3", SBX_CHECK_WARN, strdup("not found"),
		    strdup("sudo apt-get install fuse3 (or dnf install fuse3)"));
	check_device(
		b, "/dev/net/tun",
		"--network slirp and published ports (-p) are unavailable; --network host works",
		"sudo chmod 0666 /dev/net/tun (and sudo modprobe tun)");
}

/* ---- filesystem types ----------------------------------------------------- */

struct fs_name {
	uint32_t magic;
	const char *name;
	bool shared; /* a network or cluster filesystem */
};

static const struct fs_name fs_names[] = {
	{ EXT4_SUPER_MAGIC, "ext4", false },
	{ XFS_SUPER_MAGIC, "xfs", false },
	{ BTRFS_SUPER_MAGIC, "btrfs", false },
	{ TMPFS_MAGIC, "tmpfs", false },
	{ RAMFS_MAGIC, "ramfs", false },
	{ ZFS_MAGIC, "zfs", false },
	{ F2FS_SUPER_MAGIC, "f2fs", false },
	{ BCACHEFS_MAG, "bcachefs", false },
	{ OVERLAYFS_SUPER_MAGIC, "overlay", false },
	{ FUSE_SUPER_MAGIC, "fuse", false },
	{ SQUASHFS_MAGIC, "squashfs", false },
	{ MSDOS_SUPER_MAGIC, "vfat", false },
	{ EXFAT_SUPER_MAGIC, "exfat", false },
	{ ECRYPTFS_SUPER_MAGIC, "ecryptfs", false },
	{ NFS_SUPER_MAGIC, "nfs", true },
	{ LUSTRE_MAGIC, "lustre", true },
	{ GPFS_MAGIC, "gpfs", true },
	{ BEEGFS_MAGIC, "beegfs", true },
	{ CIFS_SUPER_MAGIC, "cifs", true },
	{ SMB2_SUPER_MAGIC, "smb2", true },
	{ SMB_SUPER_MAGIC, "smb", true },
	{ CEPH_SUPER_MAGIC, "ceph", true },
	{ AFS_SUPER_MAGIC, "afs", true },
	{ AFS_FS_MAGIC, "afs", true },
	{ GFS2_MAGIC, "gfs2", true },
	{ OCFS2_SUPER_MAGIC, "ocfs2", true },
	{ PANFS_MAGIC, "panfs", true },
	{ V9FS_MAGIC, "9p", true },
};

/* statfs's f_type is a signed long; every magic number fits 32 bits. */
static const struct fs_name *fs_lookup(uint32_t magic)
{
	for (size_t i = 0; i < ARRAY_SIZE(fs_names); i++)
		if (fs_names[i].magic == magic)
			return &fs_names[i];
	return NULL;
}

/* Test seam: $HUTCH_TEST_FSTYPE, a name of the table ("nfs", "ext4"),
 * stands for the filesystem every probe finds, so that the tests can show
 * what hutch does on a shared filesystem they cannot mount. */
static const struct fs_name *fs_seam(void)
{
	const char *want = getenv("HUTCH_TEST_FSTYPE");

	for (size_t i = 0; want && *want && i < ARRAY_SIZE(fs_names); i++)
		if (!strcmp(fs_names[i].name, want))
			return &fs_names[i];
	return NULL;
}

/**
 * struct fs_info - the filesystem under a path that may not exist yet
 * @at:     the nearest existing ancestor (owned), NULL when none is found
 * @exists: the path itself exists
 */
struct fs_info {
	char *at;
	bool exists;
	char name[32];
	bool shared;
};

static void fs_info_free(struct fs_info *fi)
{
	free(fi->at);
}

/* Cut @path back to its parent in place; false at "/". */
static bool to_parent(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || !strcmp(path, "/"))
		return false;
	if (slash == path)
		slash[1] = '\0';
	else
		*slash = '\0';
	return true;
}

static int fs_probe(const char *path, struct fs_info *fi)
{
	cleanup_free char *at = strdup(path);
	const struct fs_name *n;
	struct statfs sfs;

	*fi = (struct fs_info){ .name = "unknown" };
	if (!at)
		return -ENOMEM;
	while (statfs(at, &sfs) < 0)
		if ((errno != ENOENT && errno != ENOTDIR) || !to_parent(at))
			return -errno;
	fi->exists = !strcmp(at, path);
	n = fs_seam() ? fs_seam() : fs_lookup((uint32_t)sfs.f_type);
	if (n) {
		snprintf(fi->name, sizeof(fi->name), "%s", n->name);
		fi->shared = n->shared;
	} else {
		snprintf(fi->name, sizeof(fi->name), "type 0x%x",
			 (unsigned)(uint32_t)sfs.f_type);
	}
	fi->at = steal_ptr(&at);
	return 0;
}

/* "ext4" or "ext4 at /home/u (not created yet)". */
static char *fs_describe(const struct fs_info *fi)
{
	if (fi->exists)
		return strdup(fi->name);
	return cmn_strdup_printf("not created yet; %s at %s", fi->name, fi->at);
}

/* ---- 6. kernel overlayfs in a user namespace ----------------------------- */

/* Remove @name under @at and everything below it, making directories
 * searchable first: overlayfs leaves work/work with mode 0. */
static int remove_tree(int at, const char *name, int depth)
{
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0) < 0 ? -errno : 0;
	if (depth > 16)
		return -ELOOP;
	if (fchmodat(at, name, 0700, 0) < 0)
		return -errno;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			remove_tree(dirfd(d), e->d_name, depth + 1);
	closedir(d);
	/* A failure below shows up here as ENOTEMPTY. */
	return unlinkat(at, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where to probe: the store, which is what containers will use; before
 * the first pull, its nearest existing ancestor, the filesystem the store
 * will be made on (the runtime directory or /tmp may be another one: a
 * tmpfs under an NFS home). Never create the store just to look at it.
 * @where: set to the place in words (owned). NULL when the store's path
 * is unknown (no HOME). */
static char *probe_base(char **where)
{
	cleanup_free char *store = cmn_store_dir();
	cleanup_free char *at = store ? strdup(store) : NULL;

	*where = NULL;
	if (!at)
		return NULL;
	while (!is_dir(at) && to_parent(at))
		;
	*where = strcmp(at, store)
			 ? cmn_strdup_printf("%s, where the store %s will be",
					     at, store)
			 : strdup(at);
	return *where ? steal_ptr(&at) : NULL;
}

/* lower/{file,dir}, upper, work, merged in @dir. */
static int overlay_prepare(const char *dir)
{
	static const char *const dirs[] = { "lower", "lower/dir", "upper",
					    "work", "merged" };
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(fd, dirs[i], 0755) < 0)
			return -errno;
	return cmn_write_fileat(fd, "lower/file", "x", 1, 0644);
}

#define OVERLAY_FIX "none needed: hutch-overlay (FUSE) will be used"

/* The verdict line for a probe that ended with @ret and @res; @where
 * names its place. */
static void add_overlay(struct builder *b, int ret,
			const struct probe_result *res, const char *where,
			const struct fs_info *fi)
{
	cleanup_free char *failure = NULL;

	if (ret < 0) {
		add(b, "kernel overlay", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "not tested: cannot prepare a probe in %s: %s",
			    where, strerror(-ret)),
		    strdup(OVERLAY_FIX));
	} else if (res->step) {
		failure = probe_failure(res);
		add(b, "kernel overlay", SBX_CHECK_WARN,
		    cmn_strdup_printf("%s (on %s in %s)",
				      failure ? failure : "?", fi->name, where),
		    strdup(OVERLAY_FIX
			   "; kernel overlay needs Linux 5.11+ and a local filesystem for HUTCH_ROOT"));
	} else {
		add(b, "kernel overlay", SBX_CHECK_OK,
		    cmn_strdup_printf("yes (userxattr) on %s in %s", fi->name,
				      where),
		    NULL);
	}
}

int sbx_overlay_probe(const char *base)
{
	cleanup_free char *dir =
		cmn_strdup_printf("%s/.hutch-probe-XXXXXX", base);
	struct probe_result res = { 0 };
	int ret;

	if (!dir || !mkdtemp(dir))
		return -errno;
	ret = overlay_prepare(dir);
	if (ret == 0)
		ret = run_probe(probe_overlay, dir, &res);
	remove_tree(AT_FDCWD, dir, 0);
	if (ret == 0 && res.step)
		ret = res.err ? -res.err : -EPERM;
	return ret;
}

static void check_overlay(struct builder *b)
{
	cleanup_free char *where = NULL;
	cleanup_free char *base = probe_base(&where);
	cleanup_free char *dir =
		base ? cmn_strdup_printf("%s/.hutch-info-XXXXXX", base) : NULL;
	struct probe_result res = { 0 };
	struct fs_info fi = { 0 };
	int ret, gone;

	if (!dir || !mkdtemp(dir)) {
		add(b, "kernel overlay", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "not tested: cannot create a directory in %s: %s",
			    where ? where : "the store (unknown)",
			    strerror(errno)),
		    strdup(OVERLAY_FIX));
		return;
	}
	ret = overlay_prepare(dir);
	if (ret == 0)
		ret = run_probe(probe_overlay, dir, &res);
	fs_probe(dir, &fi);
	gone = remove_tree(AT_FDCWD, dir, 0);
	add_overlay(b, ret, &res, where, &fi);
	if (gone < 0)
		add(b, "probe cleanup", SBX_CHECK_WARN,
		    cmn_strdup_printf("cannot remove %s: %s", dir,
				      strerror(-gone)),
		    cmn_strdup_printf("remove it yourself: rm -rf %s", dir));
	fs_info_free(&fi);
}

/* ---- 7. cgroups ---------------------------------------------------------- */

/* hutch sets no limits itself (no run option does): what the cgroup state
 * means is whether the user can cap containers from outside. */
#define CGROUP_FIX \
	"nothing for hutch, which sets no memory or CPU limits of its own: containers share the cgroup hutch runs in; to cap them on a systemd host, start hutch in a scope of its own: systemd-run --user --scope -p MemoryMax=4G hutch run ..."
#define CGROUP_V1_FIX \
	"nothing for hutch, which sets no memory or CPU limits of its own: containers share the cgroup hutch runs in; capping them from a user account needs cgroup v2 (an admin boots with systemd.unified_cgroup_hierarchy=1)"

/* Our cgroup from /proc/self/cgroup: the v2 path ("0::/x") when @v2, else
 * the memory controller's v1 path. Owned, NULL when not found. */
static char *own_cgroup(bool v2)
{
	cleanup_free char *text =
		cmn_read_fileat(AT_FDCWD, "/proc/self/cgroup", 1 << 16, NULL);
	char *save = NULL;

	if (!text)
		return NULL;
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		/* "hierarchy-id:controller-list:path" */
		char *ctrls = strchr(l, ':');
		char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;

		if (!path)
			continue;
		*ctrls++ = '\0';
		*path++ = '\0';
		if (v2 && !strcmp(l, "0") && !*ctrls)
			return strdup(path);
		if (!v2 && strstr(ctrls, "memory"))
			return cmn_strdup_printf("memory:%s", path);
	}
	return NULL;
}

/* Is @dir, our cgroup on the v2 hierarchy at @mnt, ours to manage? The
 * directory and the files a manager writes must be writable by us. */
static bool cgroup_delegated(const char *dir)
{
	static const char *const files[] = { "", "/cgroup.procs",
					     "/cgroup.subtree_control" };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cleanup_free char *p = cmn_strdup_printf("%s%s", dir, files[i]);

		if (!p || access(p, W_OK) < 0)
			return false;
	}
	return true;
}

static void check_cgroup_v2(struct builder *b, const char *mnt)
{
	cleanup_free char *cg = own_cgroup(true);
	cleanup_free char *dir = cg ? cmn_strdup_printf("%s%s", mnt, cg) : NULL;
	cleanup_free char *path =
		dir ? cmn_strdup_printf("%s/cgroup.controllers", dir) : NULL;
	cleanup_free char *ctrls = path ? read_line(path) : NULL;

	if (!cg) {
		add(b, "cgroups", SBX_CHECK_WARN,
		    strdup("v2, but our cgroup is not in /proc/self/cgroup"),
		    strdup(CGROUP_FIX));
	} else if (!cgroup_delegated(dir)) {
		add(b, "cgroups", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "v2, %s, not delegated (not writable by uid %u)",
			    cg, (unsigned)getuid()),
		    strdup(CGROUP_FIX));
	} else if (!ctrls || !*ctrls) {
		add(b, "cgroups", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "v2, %s, delegated but without controllers", cg),
		    strdup(CGROUP_FIX));
	} else {
		add(b, "cgroups", SBX_CHECK_OK,
		    cmn_strdup_printf("v2, %s, delegated (controllers: %s)", cg,
				      ctrls),
		    NULL);
	}
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 &&
	       (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static void check_cgroups(struct builder *b)
{
	cleanup_free char *cg = NULL;
	struct statfs sfs;

	if (is_cgroup2("/sys/fs/cgroup")) {
		check_cgroup_v2(b, "/sys/fs/cgroup");
		return;
	}
	if (statfs("/sys/fs/cgroup", &sfs) < 0 ||
	    (unsigned long)sfs.f_type != TMPFS_MAGIC) {
		add(b, "cgroups", SBX_CHECK_WARN,
		    strdup("none found at /sys/fs/cgroup"), strdup(CGROUP_FIX));
		return;
	}
	/* v1, or hybrid: systemd's v2 tree at unified/ then holds no
	 * controllers (they are all bound to v1), so nothing to delegate. */
	cg = own_cgroup(false);
	add(b, "cgroups", SBX_CHECK_WARN,
	    cmn_strdup_printf(
		    "%s, %s, not delegated (capping containers from a user account needs cgroup v2)",
		    is_cgroup2("/sys/fs/cgroup/unified") ? "v1 (hybrid)" : "v1",
		    cg ? cg : "cgroup unknown"),
	    strdup(CGROUP_V1_FIX));
}

/* ---- 8. store and runtime directories ----------------------------------- */

static void check_store(struct builder *b)
{
	cleanup_free char *store = cmn_store_dir();
	cleanup_free char *local = store ? cmn_local_dir(store) : NULL;
	cleanup_free char *desc = NULL;
	struct fs_info fi = { 0 };
	int ret;

	if (!store) {
		add(b, "store", SBX_CHECK_FAIL,
		    cmn_strdup_printf("unknown: %s", strerror(errno)),
		    strdup("set HOME or HUTCH_ROOT to an absolute directory"));
		return;
	}
	ret = fs_probe(store, &fi);
	desc = ret == 0 ? fs_describe(&fi)
			: cmn_strdup_printf("cannot stat: %s", strerror(-ret));
	if (fi.shared && getenv("SLURM_JOB_ID") && getenv("TMPDIR"))
		add(b, "store", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "%s (%s; shared filesystem: every job's containers read their images from it over the network)",
			    store, desc ? desc : "?"),
		    cmn_strdup_printf(
			    "for speed in this job set HUTCH_ROOT=%s/hutch (the job's node-local TMPDIR; its images go with the job, pull or load them again) or a node-local disk your site keeps",
			    getenv("TMPDIR")));
	else if (fi.shared)
		add(b, "store", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "%s (%s; shared filesystem: containers keep their changes on node-local disk, in %s)",
			    store, desc ? desc : "?", local ? local : "?"),
		    strdup("for speed set HUTCH_ROOT=/local/scratch/$USER/hutch (a node-local disk)"));
	else
		add(b, "store", SBX_CHECK_OK,
		    cmn_strdup_printf("%s (%s)", store, desc ? desc : "?"),
		    NULL);
	fs_info_free(&fi);
}

/* ---- image format of the store (HUTCH_IMAGE_FORMAT) ---------------------- */

int sbx_image_format(const char *store, bool *squashfs, char **why,
		     struct hutch_err *err)
{
	const char *v = getenv("HUTCH_IMAGE_FORMAT");
	struct fs_info fi = { 0 };
	int ret;

	*squashfs = false;
	if (why)
		*why = NULL;
	if (v && *v && strcmp(v, "auto")) {
		if (strcmp(v, "layers") && strcmp(v, "squashfs"))
			return cmn_err_msg(
				err, EINVAL,
				"HUTCH_IMAGE_FORMAT=%s is not an image format: set it to layers, squashfs or auto (the default)",
				v);
		*squashfs = !strcmp(v, "squashfs");
		if (why)
			*why = cmn_strdup_printf("HUTCH_IMAGE_FORMAT=%s", v);
		return 0;
	}
	ret = store ? fs_probe(store, &fi) : -ENOENT;
	*squashfs = ret == 0 && fi.shared;
	if (why)
		*why = ret < 0 ? cmn_strdup_printf(
					 "auto: the store's filesystem is unknown (%s)",
					 strerror(-ret))
		       : fi.shared
			       ? cmn_strdup_printf(
					 "auto: the store is on %s, a shared filesystem",
					 fi.name)
			       : cmn_strdup_printf(
					 "auto: the store is on %s, a local filesystem",
					 fi.name);
	fs_info_free(&fi);
	return 0;
}

bool sbx_fs_shared(const char *path, char name[32])
{
	struct fs_info fi = { 0 };
	bool shared = path && fs_probe(path, &fi) == 0 && fi.shared;

	if (name)
		snprintf(name, 32, "%s", fi.name);
	fs_info_free(&fi);
	return shared;
}

static void check_image_format(struct builder *b)
{
	cleanup_free char *store = cmn_store_dir();
	cleanup_free char *why = NULL;
	struct hutch_err err = { 0 };
	bool sq = false;

	/* A warning: pull and build refuse to start, containers still run. */
	if (sbx_image_format(store, &sq, &why, &err) < 0)
		add(b, "image format", SBX_CHECK_WARN, strdup(err.msg),
		    strdup("set HUTCH_IMAGE_FORMAT to layers, squashfs or auto, or unset it"));
	else
		add(b, "image format", SBX_CHECK_OK,
		    cmn_strdup_printf("%s (%s)", sq ? "squashfs" : "layers",
				      why ? why : "?"),
		    NULL);
}

/* Which rule of cmn_runtime_dir() chose @dir, in words. */
static char *runtime_source(const char *dir)
{
	const char *env = getenv("HUTCH_RUNTIME");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *tmp = getenv("TMPDIR");
	cleanup_free char *why = NULL;

	if (env && *env == '/')
		return strdup("from HUTCH_RUNTIME");
	if (xdg && *xdg && cmn_has_prefix(dir, xdg) &&
	    !strcmp(dir + strlen(xdg), "/hutch"))
		return strdup("from XDG_RUNTIME_DIR");
	why = xdg && *xdg ? cmn_strdup_printf(
				    "XDG_RUNTIME_DIR=%s is missing or not ours",
				    xdg)
			  : strdup("XDG_RUNTIME_DIR is unset");
	if (!why)
		return NULL;
	if (tmp && *tmp == '/' && cmn_has_prefix(dir, tmp))
		return cmn_strdup_printf("TMPDIR fallback: %s", why);
	if (tmp && *tmp)
		return cmn_strdup_printf(
			"/tmp fallback: %s, TMPDIR=%s is missing or not writable",
			why, tmp);
	return cmn_strdup_printf("/tmp fallback: %s", why);
}

static void check_runtime(struct builder *b)
{
	cleanup_free char *dir = cmn_runtime_dir();
	cleanup_free char *src = dir ? runtime_source(dir) : NULL;
	cleanup_free char *desc = NULL;
	struct fs_info fi = { 0 };

	if (!dir || !src) {
		b->oom = true;
		return;
	}
	desc = fs_probe(dir, &fi) == 0 ? fs_describe(&fi)
				       : strdup("cannot stat");
	if (fi.shared)
		add(b, "runtime dir", SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "%s (%s; %s; sockets and locks on a shared filesystem)",
			    dir, desc ? desc : "?", src),
		    cmn_strdup_printf(
			    "set HUTCH_RUNTIME=/tmp/hutch-%u (a local directory)",
			    (unsigned)getuid()));
	else
		add(b, "runtime dir", SBX_CHECK_OK,
		    cmn_strdup_printf("%s (%s; %s)", dir, desc ? desc : "?",
				      src),
		    NULL);
	fs_info_free(&fi);
}

/* Inside a Slurm job: what hutch does differently there. */
static void check_job(struct builder *b)
{
	const char *job = getenv("SLURM_JOB_ID");
	const char *step = getenv("SLURM_STEP_ID");
	const char *node = getenv("SLURMD_NODENAME");

	if (!job)
		return;
	add(b, "slurm job", SBX_CHECK_OK,
	    cmn_strdup_printf(
		    "%s%s%s on %s: its variables (SLURM_*, PMI_*, PMIX_*, the GPU binding) reach containers (--job-env=false keeps them out); detached containers end with the job (--outlive-job keeps them); a --rm container the job's end kills is removed by the next hutch command",
		    job, step ? " step " : "", step ? step : "",
		    node ? node : "this node"),
	    NULL);
}

/* ---- 9. hutch's installation --------------------------------------------- */

/**
 * struct helper_need - a helper program and what needs it
 * @var:  the variable that names it
 * @need: what cannot work without it
 * @optional: containers run without it (a warning, not a failure)
 */
struct helper_need {
	const char *var;
	const char *name;
	const char *need;
	bool optional;
};

static const struct helper_need helper_needs[] = {
	{ "HUTCH_NET", "hutch-net",
	  "published ports (-p) and --network slirp need it", false },
	{ "HUTCH_OVERLAY", "hutch-overlay", "the fuse storage driver needs it",
	  false },
	{ "HUTCH_SQUASHFS", "hutch-squashfs",
	  "single-file images (IMG.sqsh) need it", true },
};

/* The version in @line when it is "@name version V", else NULL. */
static const char *version_in(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(line, name, n) || !cmn_has_prefix(line + n, " version "))
		return NULL;
	return line + n + strlen(" version ");
}

/* The fix for a helper of another build. */
static char *reinstall_fix(const struct helper_need *hn,
			   const struct sbx_helper *h)
{
	if (!h->home)
		return cmn_strdup_printf(
			"set %s to the %s of this hutch's build, %s", hn->var,
			hn->name, cmn_version_string());
	return cmn_strdup_printf(
		"install the %s of this hutch's build, %s, next to it in %s, or set %s to it",
		hn->name, cmn_version_string(), h->home, hn->var);
}

/* A helper that will not run (a missing library, say): FAIL. */
static void add_broken_helper(struct builder *b, const struct helper_need *hn,
			      const struct sbx_helper *h, const char *from,
			      int status, const char *said)
{
	char why[64];

	if (status < 0)
		snprintf(why, sizeof(why), "%s", strerror(-status));
	else
		snprintf(why, sizeof(why), "it exited with status %d, silent",
			 status);
	add(b, hn->name, hn->optional ? SBX_CHECK_WARN : SBX_CHECK_FAIL,
	    cmn_strdup_printf("%s (%s) cannot run: %s (%s)", h->path, from,
			      *said ? said : why, hn->need),
	    cmn_strdup_printf(
		    "install a %s that runs on this machine next to hutch%s%s, or set %s to one; ldd %s lists the libraries it needs",
		    hn->name, h->home ? ", in " : "", h->home ? h->home : "",
		    hn->var, h->path));
}

/* Found: does it run, and is it of hutch's own build? */
static void check_helper_version(struct builder *b,
				 const struct helper_need *hn,
				 const struct sbx_helper *h)
{
	cleanup_free char *said = NULL;
	int status = sbx_helper_version(h->path, &said);
	const char *line = said ? said : "";
	const char *version = status == 0 ? version_in(line, hn->name) : NULL;
	char from[64];

	/* "from HUTCH_NET", "next to hutch", "on PATH" */
	snprintf(from, sizeof(from), "%s%s",
		 strcmp(h->from, hn->var) ? "" : "from ", h->from);
	if (status != 0)
		add_broken_helper(b, hn, h, from, status, line);
	else if (!version)
		add(b, hn->name, SBX_CHECK_WARN,
		    cmn_strdup_printf(
			    "%s (%s) does not say its version (an older %s?): \"%s\"",
			    h->path, from, hn->name, line),
		    reinstall_fix(hn, h));
	else if (strcmp(version, cmn_version_string()))
		add(b, hn->name, SBX_CHECK_WARN,
		    cmn_strdup_printf("%s (%s) is version %s, hutch is %s",
				      h->path, from, version,
				      cmn_version_string()),
		    reinstall_fix(hn, h));
	else
		add(b, hn->name, SBX_CHECK_OK,
		    cmn_strdup_printf("%s (%s, same version)", h->path, from),
		    NULL);
}

static void check_helper_program(struct builder *b,
				 const struct helper_need *hn)
{
	struct sbx_helper h;
	int ret = sbx_helper_find(hn->var, hn->name, &h);

	if (ret == -ENOMEM)
		b->oom = true;
	else if (ret < 0)
		add(b, hn->name, hn->optional ? SBX_CHECK_WARN : SBX_CHECK_FAIL,
		    cmn_strdup_printf("not found: %s (%s)", h.missing,
				      hn->need),
		    steal_ptr(&h.fix));
	else
		check_helper_version(b, hn, &h);
	sbx_helper_free(&h);
}

static void check_install(struct builder *b)
{
	cleanup_free char *self = sbx_self_exe();

	add(b, "hutch", SBX_CHECK_OK,
	    self ? cmn_strdup_printf("%s at %s", cmn_version_string(), self)
		 : strdup(cmn_version_string()),
	    NULL);
	for (size_t i = 0; i < ARRAY_SIZE(helper_needs); i++)
		check_helper_program(b, &helper_needs[i]);
}

/* ---- 10. summary ----------------------------------------------------------- */

static void add_summary(struct builder *b)
{
	for (size_t i = 0; i < b->rep.n; i++) {
		const struct sbx_check *c = &b->rep.checks[i];

		if (c->state != SBX_CHECK_FAIL)
			continue;
		add(b, "rootless containers", SBX_CHECK_FAIL,
		    cmn_strdup_printf("no: %s: %s", c->name,
				      cmn_has_prefix(c->value, "no: ")
					      ? c->value + 4
					      : c->value),
		    dup_or_null(c->fix));
		return;
	}
	add(b, "rootless containers", SBX_CHECK_OK, strdup("yes"), NULL);
}

int sbx_host_report(const char *procsys, struct sbx_report *rep,
		    struct hutch_err *err)
{
	struct builder b = { .procsys = procsys ? procsys : "/proc/sys" };

	check_kernel(&b);
	check_userns(&b);
	check_idmap(&b);
	check_devices(&b);
	check_overlay(&b);
	check_cgroups(&b);
	check_store(&b);
	check_image_format(&b);
	check_runtime(&b);
	check_job(&b);
	check_install(&b);
	add_summary(&b);
	if (b.oom) {
		sbx_report_free(&b.rep);
		return cmn_err_set(err, ENOMEM, "cannot build the host report");
	}
	*rep = b.rep;
	return 0;
}
