// SPDX-License-Identifier: Apache-2.0
/* run.c - `hutch run`: Docker's options into a struct sbx_config, then run
 *
 * Every option is one row of the table below and one small setter; the
 * checks that need several options at once run after parsing, in
 * finish_config(). The container itself is made by container/
 * (ctr_container_make()) and run in the foreground or under its monitor.
 * Errors exit 125, as Docker's do.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "builder/builder.h"
#include "cli/progress.h"
#include "image/image.h"
#include "net/net.h"
#include "sandbox/sandbox.h"

struct run_opts {
	struct sbx_config cfg;
	uint64_t cap_add, cap_drop;
	bool cap_add_all, cap_drop_all;
	char *entrypoint;	  /* --entrypoint; NULL: the image's */
	char *name;		  /* --name */
	bool detach;		  /* -d */
	bool create_only;	  /* `hutch create`: make, do not start */
	bool no_job_env;	  /* --job-env=false */
	bool outlive_job;	  /* --outlive-job */
	bool auto_remove;	  /* --rm */
	enum ctr_restart restart; /* --restart */
	int restart_max;	  /* on-failure:N */
	bool network_set;	  /* --network given: no automatic choice */
	char **shown_ports;	  /* -p as ps shows them */
	bool publish_all;	  /* -P */
	char **labels;		  /* --label KEY=VALUE */
	const char *platform;	  /* --platform OS/ARCH */
	const char *pull;	  /* --pull missing|always|never */
	struct ctr_healthcheck health; /* --health-*, --no-healthcheck */
	bool overlay;		       /* --overlay: --rootfs copy-on-write */
	char *upper_dir;  /* --upper DIR: a kept DIR/upper and DIR/work */
	char **devices;	  /* --device, applied in finish_config() */
	char **cdi_dirs;  /* --cdi-spec-dir */
	const char *gpus; /* --gpus */
	char *join;	  /* --join NAME; "" turns the automatic group off */
	bool userns_set;  /* --userns given */
};

/* Every host variable whose name matches @pattern, as NAME=VALUE, onto
 * @env (Podman's -e 'NAME*'). */
static int push_matching(char ***env, const char *pattern)
{
	extern char **environ;

	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];

		if (!eq || (size_t)(eq - *e) >= sizeof(name))
			continue;
		memcpy(name, *e, eq - *e);
		name[eq - *e] = '\0';
		if (fnmatch(pattern, name, 0) == 0 &&
		    cmn_strv_push(env, strdup(*e)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int push_env(struct run_opts *o, const char *kv, struct hutch_err *err)
{
	const char *val;

	if (kv[0] == '=' || kv[0] == '\0')
		return cmn_err_msg(
			err, EINVAL,
			"invalid environment variable \"%s\": the name is empty",
			kv);
	if (strchr(kv, '='))
		return cmn_strv_push(&o->cfg.env, strdup(kv));
	/* NAME* (any pattern): every matching host variable. */
	if (strpbrk(kv, "*?["))
		return push_matching(&o->cfg.env, kv) < 0
			       ? cmn_err_set(err, ENOMEM, "--env %s", kv)
			       : 0;
	/* KEY alone takes the host's value, and nothing when it is unset. */
	val = getenv(kv);
	if (!val)
		return 0;
	return cmn_strv_push(&o->cfg.env, cmn_strdup_printf("%s=%s", kv, val));
}

static int set_env(void *ctx, const char *arg, struct hutch_err *err)
{
	return push_env(ctx, arg, err);
}

static int set_env_file(void *ctx, const char *arg, struct hutch_err *err)
{
	cleanup_fclose FILE *f = fopen(arg, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;
	int ret = 0, lineno = 0;

	if (!f)
		return cmn_err_set(err, errno, "cannot read %s", arg);
	while (ret == 0 && getline(&line, &cap, f) >= 0) {
		char *s = line + strspn(line, " \t");

		lineno++;
		s[strcspn(s, "\r\n")] = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (strcspn(s, " \t") < strcspn(s, "="))
			return cmn_err_msg(
				err, EINVAL,
				"%s:%d: variable \"%.*s\" has white space in its name",
				arg, lineno, (int)strcspn(s, "="), s);
		ret = push_env(ctx, s, err);
	}
	return ret;
}

static int set_rootfs(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(arg, real) || stat(real, &st) < 0)
		return cmn_err_msg(
			err, EINVAL,
			"root filesystem %s does not exist; check the path",
			arg);
	if (!S_ISDIR(st.st_mode))
		return cmn_err_msg(
			err, EINVAL,
			"root filesystem %s is not a directory; give the directory that holds bin/, etc/, usr/",
			arg);
	return cli_set_string(&o->cfg.rootfs, real);
}

static int set_workdir(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;

	if (arg[0] != '/')
		return cmn_err_msg(
			err, EINVAL,
			"the working directory \"%s\" is invalid: it needs to be an absolute path",
			arg);
	return cli_set_string(&o->cfg.workdir, arg);
}

static int set_user(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return cli_set_string(&((struct run_opts *)ctx)->cfg.user, arg);
}

static int set_hostname(void *ctx, const char *arg, struct hutch_err *err)
{
	if (!*arg || strlen(arg) > 64 || strchr(arg, '/'))
		return cmn_err_msg(
			err, EINVAL,
			"invalid host name \"%s\": use 1 to 64 letters, digits, '-' or '.'",
			arg);
	return cli_set_string(&((struct run_opts *)ctx)->cfg.hostname, arg);
}

static int set_flag(bool *field, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, field, err);
}

static int set_interactive(void *ctx, const char *arg, struct hutch_err *err)
{
	return set_flag(&((struct run_opts *)ctx)->cfg.interactive, arg, err);
}

static int set_tty(void *ctx, const char *arg, struct hutch_err *err)
{
	return set_flag(&((struct run_opts *)ctx)->cfg.tty, arg, err);
}

static int set_read_only(void *ctx, const char *arg, struct hutch_err *err)
{
	return set_flag(&((struct run_opts *)ctx)->cfg.read_only, arg, err);
}

/* --init is what every run does: hutch's init is always pid 1. Accepted
 * for Docker habits. */
static int set_noop(void *ctx, const char *arg, struct hutch_err *err)
{
	bool ignored;

	(void)ctx;
	return cli_parse_bool(arg, &ignored, err);
}

static int set_detach(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct run_opts *)ctx)->detach, err);
}

static int set_job_env(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	bool on;
	int ret = cli_parse_bool(arg, &on, err);

	o->no_job_env = !on;
	return ret;
}

static int set_outlive_job(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct run_opts *)ctx)->outlive_job, err);
}

static int set_rm(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct run_opts *)ctx)->auto_remove, err);
}

static int set_name(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return cli_set_string(&((struct run_opts *)ctx)->name, arg);
}

/* no | on-failure[:N] | always | unless-stopped. The container's monitor
 * restarts it; with no daemon, nothing starts it again after a reboot. */
static int set_restart(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	uint64_t n = 0;

	o->restart_max = 0;
	if (!strcmp(arg, "no")) {
		o->restart = CTR_RESTART_NO;
		return 0;
	}
	if (!strcmp(arg, "always") || !strcmp(arg, "unless-stopped")) {
		o->restart = !strcmp(arg, "always")
				     ? CTR_RESTART_ALWAYS
				     : CTR_RESTART_UNLESS_STOPPED;
		return 0;
	}
	o->restart = CTR_RESTART_ON_FAILURE;
	if (!strcmp(arg, "on-failure"))
		return 0;
	if (cmn_has_prefix(arg, "on-failure:") &&
	    cmn_parse_u64(arg + 11, 1000000, &n) && n > 0) {
		o->restart_max = (int)n;
		return 0;
	}
	return cmn_err_msg(
		err, EINVAL,
		"invalid restart policy \"%s\"; use no, on-failure[:N], always or unless-stopped",
		arg);
}

/* ---- health checks: Docker's --health-* over the image's HEALTHCHECK ---- */

static int set_health_cmd(void *ctx, const char *arg, struct hutch_err *err)
{
	struct ctr_healthcheck *h = &((struct run_opts *)ctx)->health;

	(void)err;
	cmn_strv_free(h->test);
	h->test = NULL;
	if (cmn_strv_push(&h->test, strdup("CMD-SHELL")) < 0 ||
	    cmn_strv_push(&h->test, strdup(arg)) < 0)
		return -ENOMEM;
	return 0;
}

static int set_no_healthcheck(void *ctx, const char *arg, struct hutch_err *err)
{
	struct ctr_healthcheck *h = &((struct run_opts *)ctx)->health;
	bool on;

	if (cli_parse_bool(arg, &on, err) < 0)
		return -EINVAL;
	if (!on)
		return 0;
	cmn_strv_free(h->test);
	h->test = NULL;
	return cmn_strv_push(&h->test, strdup("NONE"));
}

/* Docker's rule: 0 is the default, else at least 1 ms. */
static int health_duration(const char *arg, int64_t *ns, struct hutch_err *err)
{
	if (!bld_parse_duration(arg, ns) || *ns < 0 ||
	    (*ns > 0 && *ns < 1000000))
		return cmn_err_msg(
			err, EINVAL,
			"invalid duration \"%s\": write it like 30s, 1m30s or 500ms (at least 1ms; 0s for the default)",
			arg);
	return 0;
}

static int set_health_interval(void *ctx, const char *arg,
			       struct hutch_err *err)
{
	return health_duration(arg, &((struct run_opts *)ctx)->health.interval,
			       err);
}

static int set_health_timeout(void *ctx, const char *arg, struct hutch_err *err)
{
	return health_duration(arg, &((struct run_opts *)ctx)->health.timeout,
			       err);
}

static int set_health_start_period(void *ctx, const char *arg,
				   struct hutch_err *err)
{
	return health_duration(
		arg, &((struct run_opts *)ctx)->health.start_period, err);
}

static int set_health_start_interval(void *ctx, const char *arg,
				     struct hutch_err *err)
{
	return health_duration(
		arg, &((struct run_opts *)ctx)->health.start_interval, err);
}

static int set_health_retries(void *ctx, const char *arg, struct hutch_err *err)
{
	uint64_t n;

	if (!cmn_parse_u64(arg, INT32_MAX, &n))
		return cmn_err_msg(
			err, EINVAL,
			"invalid number of retries \"%s\": give a whole number (0 for the default, 3)",
			arg);
	((struct run_opts *)ctx)->health.retries = (int)n;
	return 0;
}

static struct sbx_mount *new_mount(struct run_opts *o)
{
	struct sbx_config *c = &o->cfg;
	struct sbx_mount *m =
		realloc(c->mounts, (c->n_mounts + 1) * sizeof(*m));

	if (!m)
		return NULL;
	c->mounts = m;
	m = &c->mounts[c->n_mounts++];
	memset(m, 0, sizeof(*m));
	return m;
}

/* -v and --mount, parsed in mount.c into a new slot (dropped again when
 * the parse fails, which leaves it empty); volumes are made with the
 * container (container/volume.c). */
static int add_mount(struct run_opts *o, const char *arg,
		     int (*parse)(const char *arg, struct sbx_mount *m,
				  struct hutch_err *err),
		     struct hutch_err *err)
{
	struct sbx_mount *slot = new_mount(o);
	int ret = slot ? parse(arg, slot, err) : -ENOMEM;

	if (ret < 0 && slot)
		o->cfg.n_mounts--;
	return ret;
}

static int set_volume(void *ctx, const char *arg, struct hutch_err *err)
{
	return add_mount(ctx, arg, cli_volume_spec, err);
}

static int set_mount(void *ctx, const char *arg, struct hutch_err *err)
{
	return add_mount(ctx, arg, cli_mount_spec, err);
}

/* Flag words become MS_* flags; the rest (size=, mode=, uid=...) goes to
 * tmpfs as its data. Defaults: nosuid,nodev, exec allowed (pip builds and
 * JIT caches in /tmp need it), mode 1777. */
static int tmpfs_opts(const char *spec, const char *opts, struct sbx_mount *m,
		      struct hutch_err *err)
{
	static const struct {
		const char *word;
		unsigned long set, clear;
	} words[] = {
		{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
		{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
		{ "nodev", MS_NODEV, 0 },   { "dev", 0, MS_NODEV },
	};
	cleanup_free char *copy = strdup(opts ? opts : "");
	cleanup_free char *data = strdup("mode=1777");
	char *save = NULL;

	m->flags = MS_NOSUID | MS_NODEV;
	for (char *o = strtok_r(copy, ",", &save); o && data;
	     o = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(words); i++)
			if (!strcmp(o, words[i].word))
				break;
		if (i < ARRAY_SIZE(words)) {
			m->flags = (m->flags | words[i].set) & ~words[i].clear;
		} else if (!strcmp(o, "ro") || !strcmp(o, "rw")) {
			m->read_only = !strcmp(o, "ro");
		} else if (strchr(o, '=')) {
			char *more = cmn_strdup_printf("%s,%s", data, o);

			free(data);
			data = more;
		} else {
			return cmn_err_msg(
				err, EINVAL,
				"invalid tmpfs \"%s\": unknown option \"%s\"",
				spec, o);
		}
	}
	m->data = steal_ptr(&data);
	return m->data ? 0 : -ENOMEM;
}

static int set_tmpfs(void *ctx, const char *arg, struct hutch_err *err)
{
	cleanup_free char *dst = strdup(arg);
	char *opts;
	struct sbx_mount m = { .kind = SBX_MOUNT_TMPFS }, *slot;

	if (!dst)
		return -ENOMEM;
	opts = strchr(dst, ':');
	if (opts)
		*opts++ = '\0';
	if (cli_check_mount_dst(arg, dst, err) < 0 ||
	    tmpfs_opts(arg, opts, &m, err) < 0)
		return -EINVAL;
	slot = new_mount(ctx);
	if (!slot) {
		free(m.data);
		return -ENOMEM;
	}
	*slot = m;
	slot->dst = steal_ptr(&dst);
	return 0;
}

static int cap_arg(const char *arg, uint64_t *mask, bool *all,
		   struct hutch_err *err)
{
	uint64_t m;

	if (!strcasecmp(arg, "ALL") || !strcasecmp(arg, "CAP_ALL")) {
		*all = true;
		return 0;
	}
	if (!sbx_cap_parse(arg, &m))
		return cmn_err_msg(
			err, EINVAL,
			"unknown capability \"%s\"; names are as in capabilities(7), e.g. NET_ADMIN",
			arg);
	*mask |= m;
	return 0;
}

static int set_cap_add(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;

	return cap_arg(arg, &o->cap_add, &o->cap_add_all, err);
}

static int set_cap_drop(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;

	return cap_arg(arg, &o->cap_drop, &o->cap_drop_all, err);
}

static int set_security_opt(void *ctx, const char *arg, struct hutch_err *err)
{
	struct sbx_config *c = &((struct run_opts *)ctx)->cfg;
	size_t klen = strcspn(arg, "=:");
	const char *val = arg[klen] ? arg + klen + 1 : NULL;

	if (!strncmp(arg, "seccomp", klen) && klen == 7 && val && *val) {
		c->seccomp_unconfined = !strcmp(val, "unconfined");
		return c->seccomp_unconfined
			       ? 0
			       : cli_set_string(&c->seccomp_profile, val);
	}
	if (!strncmp(arg, "no-new-privileges", klen) && klen == 17)
		return cli_parse_bool(val ? val : "true", &c->no_new_privs,
				      err);
	/* SELinux and AppArmor labels belong to the host's policy, which an
	 * unprivileged user cannot change anyway. */
	if ((klen == 5 && !strncmp(arg, "label", 5)) ||
	    (klen == 8 && !strncmp(arg, "apparmor", 8)))
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"unsupported security option \"%s\"; use seccomp=unconfined|PROFILE.json or no-new-privileges[=true|false]",
		arg);
}

/* auto: slirp when ports are published, else the host's (DESIGN.md);
 * slirp:allow_host_loopback=true lets 10.0.2.2 reach the host's loopback. */
static int set_network(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	struct sbx_config *c = &o->cfg;

	o->network_set = strcmp(arg, "auto") != 0;
	if (!strcmp(arg, "host") || !strcmp(arg, "auto"))
		c->network = SBX_NET_HOST;
	else if (!strcmp(arg, "none"))
		c->network = SBX_NET_NONE;
	else if (!strcmp(arg, "slirp") || !strcmp(arg, "slirp4netns") ||
		 !strcmp(arg, "bridge"))
		c->network = SBX_NET_SLIRP;
	else if (!strcmp(arg, "slirp:allow_host_loopback=true") ||
		 !strcmp(arg, "slirp4netns:allow_host_loopback=true")) {
		c->network = SBX_NET_SLIRP;
		c->allow_host_loopback = true;
	} else
		return cmn_err_msg(
			err, EINVAL,
			"unknown network \"%s\"; use auto, host, slirp[:allow_host_loopback=true] or none",
			arg);
	return 0;
}

/* -p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]; 127.0.0.1 unless an address
 * is given: a shared login node must not expose a server by accident. */
static int set_publish(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	struct net_port_spec spec;
	char shown[128];

	if (net_portspec_parse(arg, &spec, err) < 0)
		return -EINVAL;
	net_portspec_format(&spec, shown, sizeof(shown));
	if (cmn_strv_push(&o->cfg.ports, strdup(arg)) < 0 ||
	    cmn_strv_push(&o->shown_ports, strdup(shown)) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- Docker's options for resources, names and the image ------------------ */

static int set_label(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;

	if (!*arg || *arg == '=')
		return cmn_err_msg(
			err, EINVAL,
			"invalid label \"%s\": write KEY=VALUE or KEY", arg);
	return cmn_strv_push(&o->labels,
			     strchr(arg, '=') ? strdup(arg)
					      : cmn_strdup_printf("%s=", arg));
}

/* NAME:IP (or Docker 25's NAME=IP); IP may be IPv6 or host-gateway. */
static int set_add_host(void *ctx, const char *arg, struct hutch_err *err)
{
	struct sbx_config *c = &((struct run_opts *)ctx)->cfg;
	size_t len = strcspn(arg, ":=");
	const char *ip = arg[len] ? arg + len + 1 : "";
	unsigned char addr[16];
	const char *bad = !len || strchr(arg, ' ') || strchr(arg, '\t')
				  ? "host name"
			  : strcmp(ip, "host-gateway") &&
					  inet_pton(AF_INET, ip, addr) != 1 &&
					  inet_pton(AF_INET6, ip, addr) != 1
				  ? "IP address"
				  : NULL;

	if (bad)
		return cmn_err_msg(
			err, EINVAL,
			"invalid --add-host \"%s\": bad %s; write NAME:IP (an IPv4 or IPv6 address, or host-gateway)",
			arg, bad);
	return cmn_strv_push(&c->add_hosts,
			     cmn_strdup_printf("%.*s %s", (int)len, arg, ip));
}

static int set_shm_size(void *ctx, const char *arg, struct hutch_err *err)
{
	uint64_t n;

	if (!cmn_parse_size(arg, &n) || n == 0)
		return cmn_err_msg(
			err, EINVAL,
			"invalid --shm-size \"%s\": write a size above 0 like 256m or 2g",
			arg);
	((struct run_opts *)ctx)->cfg.shm_size = n;
	return 0;
}

/* --ipc, --pid, --uts: Docker's words. "container:NAME" is refused: a
 * namespace of another container belongs to that container's user
 * namespace, which a new container may not enter without joining it;
 * --join is that. */
static int set_share(const char *opt, const char *arg, enum sbx_share *out,
		     bool private_ok, struct hutch_err *err)
{
	if (!strcmp(arg, "host")) {
		*out = SBX_SHARE_HOST;
		return 0;
	}
	if (private_ok && (!strcmp(arg, "") || !strcmp(arg, "private") ||
			   !strcmp(arg, "shareable"))) {
		*out = SBX_SHARE_PRIVATE;
		return 0;
	}
	if (!strncmp(arg, "container:", 10))
		return cmn_err_msg(
			err, EINVAL,
			"--%s %s is not supported by hutch: each container has a user namespace of its own, which another cannot enter; run both with --join NAME to share one container's namespaces",
			opt, arg);
	return cmn_err_msg(err, EINVAL, "invalid --%s \"%s\": use %s", opt, arg,
			   private_ok ? "host, private or shareable" : "host");
}

static int set_ipc(void *ctx, const char *arg, struct hutch_err *err)
{
	return set_share("ipc", arg, &((struct run_opts *)ctx)->cfg.ipc, true,
			 err);
}

static int set_pid(void *ctx, const char *arg, struct hutch_err *err)
{
	return set_share("pid", arg, &((struct run_opts *)ctx)->cfg.pid, true,
			 err);
}

static int set_uts(void *ctx, const char *arg, struct hutch_err *err)
{
	return set_share("uts", arg, &((struct run_opts *)ctx)->cfg.uts, false,
			 err);
}

static int set_preserve_fds(void *ctx, const char *arg, struct hutch_err *err)
{
	uint64_t n;

	if (!cmn_parse_u64(arg, 1024, &n))
		return cmn_err_msg(
			err, EINVAL,
			"invalid --preserve-fds \"%s\": give how many descriptors after 2 to pass on, e.g. 1 for descriptor 3",
			arg);
	((struct run_opts *)ctx)->cfg.preserve_fds = (int)n;
	return 0;
}

static int set_join(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	bool off = !strcmp(arg, "none") || !strcmp(arg, "false");

	(void)err;
	free(o->join);
	o->join = strdup(off ? "" : arg);
	return o->join ? 0 : -ENOMEM;
}

/* A --ulimit value: a number or -1 (unlimited). */
static bool ulimit_value(const char *s, size_t len, uint64_t *v)
{
	char buf[24];
	uint64_t n;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
	if (len >= sizeof(buf))
		return false;
	if (!strcmp(buf, "-1") || !strcmp(buf, "unlimited")) {
		*v = RLIM_INFINITY;
		return true;
	}
	if (!cmn_parse_u64(buf, UINT64_MAX - 1, &n))
		return false;
	*v = n;
	return true;
}

/* NAME=SOFT[:HARD]. Checked here against the limits hutch runs under: a
 * user namespace cannot raise a hard limit. */
static int set_ulimit(void *ctx, const char *arg, struct hutch_err *err)
{
	struct sbx_config *c = &((struct run_opts *)ctx)->cfg;
	const char *eq = strchr(arg, '=');
	char name[16];
	const char *colon = eq ? strchr(eq + 1, ':') : NULL;
	struct sbx_rlimit r = { .set = true };
	struct rlimit host;
	int res;

	snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : 0, arg);
	res = sbx_rlimit_resource(name);
	if (!eq || res < 0)
		return cmn_err_msg(
			err, EINVAL,
			"invalid --ulimit \"%s\": write NAME=SOFT[:HARD] with NAME one of nofile, nproc, core, memlock, stack, cpu, fsize, data, as, locks, sigpending, msgqueue, nice, rtprio, rttime, rss",
			arg);
	if (!ulimit_value(eq + 1,
			  colon ? (size_t)(colon - eq - 1) : strlen(eq + 1),
			  &r.soft) ||
	    !ulimit_value(colon ? colon + 1 : eq + 1,
			  strlen(colon ? colon + 1 : eq + 1), &r.hard) ||
	    (r.soft > r.hard))
		return cmn_err_msg(
			err, EINVAL,
			"invalid --ulimit \"%s\": SOFT and HARD are numbers (-1: unlimited) and SOFT is at most HARD",
			arg);
	if (getrlimit(res, &host) == 0 && r.hard > host.rlim_max)
		return cmn_err_msg(
			err, EPERM,
			"--ulimit %s: the hard limit %s is above the %llu hutch runs under, and a rootless container cannot raise it; ask for at most %llu (ulimit -H shows it)",
			arg, colon ? colon + 1 : eq + 1,
			(unsigned long long)host.rlim_max,
			(unsigned long long)host.rlim_max);
	c->rlimits[res] = r;
	return 0;
}

/* OS/ARCH[/VARIANT], for the pull and to check the image. */
static int set_platform(void *ctx, const char *arg, struct hutch_err *err)
{
	const char *slash = strchr(arg, '/');

	if (!slash || slash == arg || !slash[1] || slash[1] == '/')
		return cmn_err_msg(
			err, EINVAL,
			"invalid --platform \"%s\": write OS/ARCH[/VARIANT], like linux/amd64 or linux/arm64/v8",
			arg);
	((struct run_opts *)ctx)->platform = arg;
	return 0;
}

static int set_pull(void *ctx, const char *arg, struct hutch_err *err)
{
	if (strcmp(arg, "missing") && strcmp(arg, "always") &&
	    strcmp(arg, "never"))
		return cmn_err_msg(
			err, EINVAL,
			"invalid --pull \"%s\": use missing (the default), always or never",
			arg);
	((struct run_opts *)ctx)->pull = arg;
	return 0;
}

static int set_publish_all(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct run_opts *)ctx)->publish_all, err);
}

static int set_userns(void *ctx, const char *arg, struct hutch_err *err)
{
	static const struct {
		const char *name;
		enum sbx_userns mode;
	} modes[] = { { "auto", SBX_USERNS_AUTO },
		      { "", SBX_USERNS_AUTO },
		      { "full", SBX_USERNS_FULL },
		      { "single", SBX_USERNS_SINGLE },
		      { "keep-id", SBX_USERNS_KEEP_ID } };

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(arg, modes[i].name)) {
			((struct run_opts *)ctx)->cfg.userns = modes[i].mode;
			((struct run_opts *)ctx)->userns_set = true;
			return 0;
		}
	return cmn_err_msg(
		err, EINVAL,
		"unknown user namespace mode \"%s\"; use auto, full, single or keep-id",
		arg);
}

static int set_entrypoint(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	return cli_set_string(&((struct run_opts *)ctx)->entrypoint, arg);
}

static int set_overlay(void *ctx, const char *arg, struct hutch_err *err)
{
	return cli_parse_bool(arg, &((struct run_opts *)ctx)->overlay, err);
}

static int set_upper(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	char real[PATH_MAX];

	if (cmn_mkdir_p(arg, 0755) < 0 || !realpath(arg, real))
		return cmn_err_set(err, errno, "--upper: cannot create %s",
				   arg);
	free(o->upper_dir);
	o->upper_dir = strdup(real);
	return o->upper_dir ? 0 : -ENOMEM;
}

static int set_storage_driver(void *ctx, const char *arg, struct hutch_err *err)
{
	return sbx_storage_parse(arg, &((struct run_opts *)ctx)->cfg.storage,
				 err);
}

static int set_group_add(void *ctx, const char *arg, struct hutch_err *err)
{
	if (strcmp(arg, "keep-groups") != 0)
		return cmn_err_msg(
			err, ENOTSUP,
			"--group-add %s: only keep-groups is supported (keep the host's supplementary groups, for group-shared directories)",
			arg);
	((struct run_opts *)ctx)->cfg.keep_groups = true;
	return 0;
}

static int set_device(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	int ret = cmn_strv_push(&o->devices, strdup(arg));

	return ret < 0 ? cmn_err_set(err, -ret, "--device") : 0;
}

static int set_gpus(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	((struct run_opts *)ctx)->gpus = arg;
	return 0;
}

static int set_cdi_dir(void *ctx, const char *arg, struct hutch_err *err)
{
	struct run_opts *o = ctx;
	int ret = cmn_strv_push(&o->cdi_dirs, strdup(arg));

	return ret < 0 ? cmn_err_set(err, -ret, "--cdi-spec-dir") : 0;
}

static const struct cli_opt run_options[] = {
	{ "rootfs", 0, "DIR",
	  "run on this root filesystem directory instead of an image",
	  set_rootfs },
	{ "entrypoint", 0, "CMD",
	  "override the image's ENTRYPOINT (\"\" for none)", set_entrypoint },
	{ "overlay", 0, NULL,
	  "with --rootfs: a copy-on-write root; the directory stays untouched and the changes go when the container is removed",
	  set_overlay },
	{ "upper", 0, "DIR",
	  "keep the root's changes in DIR (DIR/upper, DIR/work) across containers; implies --overlay",
	  set_upper },
	{ "storage-driver", 0, "DRIVER",
	  "how the image's layers are mounted: auto (kernel where it works), kernel (overlayfs) or fuse (hutch-overlay); default $HUTCH_STORAGE_DRIVER or auto",
	  set_storage_driver },
	{ "env", 'e', "KEY=VALUE",
	  "set an environment variable (KEY alone: the host's value)",
	  set_env },
	{ "env-file", 0, "FILE", "read KEY=VALUE lines from a file",
	  set_env_file },
	{ "job-env", 0, NULL,
	  "in a Slurm job, pass the job's variables (SLURM_*, PMI_*, PMIX_*, the GPU binding); default true, --job-env=false keeps them out",
	  set_job_env },
	{ "workdir", 'w', "DIR",
	  "working directory inside the container (created if missing)",
	  set_workdir },
	{ "user", 'u', "USER[:GROUP]",
	  "user name or uid, and group, inside the container", set_user },
	{ "volume", 'v', "SRC:DST[:ro]",
	  "bind-mount a host path (files created there belong to you), or mount volume SRC (made when missing, filled from the image); -v DST: an anonymous volume",
	  set_volume },
	{ "device", 0, "DEVICE",
	  "HOST[:PATH][:rwm]: bind the host's device node (rwm is checked against what you may open, not enforced: no device cgroup without root); VENDOR/CLASS=NAME|all: apply a CDI spec's device",
	  set_device },
	{ "gpus", 0, "all|N|device=I,J",
	  "NVIDIA GPUs: the nvidia.com/gpu CDI devices when a spec has them, else the host's driver (its nodes, and its libraries first on LD_LIBRARY_PATH); only those you may open (a Slurm job's)",
	  set_gpus },
	{ "cdi-spec-dir", 0, "DIR",
	  "read CDI specs from DIR (repeat: a later one wins) instead of $HUTCH_CDI_SPEC_DIRS or /etc/cdi and /var/run/cdi",
	  set_cdi_dir },
	{ "mount", 0, "type=bind|volume|tmpfs,...",
	  "Docker's long form: source=, target=, readonly, bind-propagation=, volume-nocopy, volume-label=, tmpfs-size=, tmpfs-mode=",
	  set_mount },
	{ "tmpfs", 0, "DST[:OPTS]",
	  "mount a tmpfs (OPTS: size=, mode=, ro, noexec, ...)", set_tmpfs },
	{ "read-only", 0, NULL, "mount the root filesystem read-only",
	  set_read_only },
	{ "hostname", 'h', "NAME",
	  "host name inside the container (default: short id)", set_hostname },
	{ "interactive", 'i', NULL, "keep standard input open",
	  set_interactive },
	{ "tty", 't', NULL, "allocate a pseudo-terminal", set_tty },
	{ "cap-add", 0, "CAP", "add a capability (or ALL)", set_cap_add },
	{ "cap-drop", 0, "CAP", "drop a capability (or ALL)", set_cap_drop },
	{ "security-opt", 0, "OPT",
	  "seccomp=unconfined|PROFILE.json, no-new-privileges[=false]",
	  set_security_opt },
	{ "network", 0, "MODE",
	  "auto (slirp with -p, else host), host, slirp[:allow_host_loopback=true], none",
	  set_network },
	{ "net", 0, "MODE", "same as --network", set_network },
	{ "publish", 'p', "[IP:][HOST:]PORT[/udp]",
	  "publish a port; binds 127.0.0.1 unless IP is given (0.0.0.0: every interface); without HOST a free port, which ps and port show",
	  set_publish },
	{ "publish-all", 'P', NULL,
	  "publish every port the image EXPOSEs on a free port of 127.0.0.1",
	  set_publish_all },
	{ "userns", 0, "MODE",
	  "id mapping: auto (default), full, single, keep-id", set_userns },
	{ "group-add", 0, "keep-groups",
	  "keep your supplementary groups inside", set_group_add },
	{ "rm", 0, NULL, "remove the container when it exits", set_rm },
	{ "name", 0, "NAME",
	  "name the container (unique; default: adjective_noun)", set_name },
	{ "restart", 0, "POLICY",
	  "no (default), on-failure[:N], always or unless-stopped (with -d; the monitor restarts it, waiting 100 ms doubled each time up to 1 min; nothing restarts it after a reboot)",
	  set_restart },
	{ "health-cmd", 0, "CMD",
	  "a health check run in the container through /bin/sh -c (replaces the image's)",
	  set_health_cmd },
	{ "health-interval", 0, "DURATION",
	  "time between health checks (default 30s)", set_health_interval },
	{ "health-timeout", 0, "DURATION",
	  "a health check that runs longer fails (default 30s)",
	  set_health_timeout },
	{ "health-start-period", 0, "DURATION",
	  "failures in this time after a start do not count (default 0s)",
	  set_health_start_period },
	{ "health-start-interval", 0, "DURATION",
	  "time between health checks during the start period (default 5s)",
	  set_health_start_interval },
	{ "health-retries", 0, "N",
	  "failures in a row that make the container unhealthy (default 3)",
	  set_health_retries },
	{ "no-healthcheck", 0, NULL,
	  "run no health check, not even the image's", set_no_healthcheck },
	{ "label", 'l', "KEY=VALUE",
	  "set a label on the container (inspect's Config.Labels)", set_label },
	{ "add-host", 0, "NAME:IP",
	  "add a line to the container's /etc/hosts (IP host-gateway: the host)",
	  set_add_host },
	{ "shm-size", 0, "SIZE", "size of /dev/shm (default 64m)",
	  set_shm_size },
	{ "ipc", 0, "MODE",
	  "IPC namespace and /dev/shm: private (default, also shareable) or host",
	  set_ipc },
	{ "pid", 0, "MODE", "pid namespace: private (default) or host",
	  set_pid },
	{ "uts", 0, "MODE", "host: the host's UTS namespace and host name",
	  set_uts },
	{ "preserve-fds", 0, "N",
	  "pass descriptors 3 to 2+N on to the command (as Podman)",
	  set_preserve_fds },
	{ "join", 0, "NAME",
	  "share one container (user, IPC, pid and mount namespaces, /dev/shm) with every run of this user on this node that joins NAME; automatic for the tasks of a Slurm step or an MPI job, none turns that off",
	  set_join },
	{ "ulimit", 0, "NAME=SOFT[:HARD]",
	  "a resource limit of the command (nofile=1024:2048); at most the hard limits hutch runs under",
	  set_ulimit },
	{ "platform", 0, "OS/ARCH",
	  "the platform to pull; an image of the store for another one is refused",
	  set_platform },
	{ "pull", 0, "POLICY",
	  "missing (default): pull the image when the store lacks it; always; never",
	  set_pull },
	{ "init", 0, NULL, "accepted: hutch's init is always pid 1", set_noop },
	{ "detach", 'd', NULL,
	  "run in the background and print the container id", set_detach },
	{ "outlive-job", 0, NULL,
	  "with -d in a Slurm job: keep running after the job ends (where the job's process tracking allows it)",
	  set_outlive_job },
};

static int run_main(int argc, char **argv);

const struct cli_cmd cli_run_cmd = {
	.name = "run",
	.usage =
		"run [OPTIONS] IMAGE [COMMAND] [ARG...]\n       hutch run [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]",
	.summary = "Run a command in a new rootless container.",
	.main = run_main,
};

static int create_main(int argc, char **argv);

const struct cli_cmd cli_create_cmd = {
	.name = "create",
	.usage = "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
	.summary =
		"Create a container without starting it ('hutch start' starts it); run's options.",
	.main = create_main,
};

/* Docker's order: start from the default set or from all, drop ALL if
 * asked, then add, then drop the named ones. */
static uint64_t final_caps(const struct run_opts *o)
{
	uint64_t all, caps;

	sbx_cap_parse("ALL", &all);
	caps = o->cap_add_all ? all : o->cfg.caps;
	if (o->cap_drop_all)
		caps = 0;
	return (caps | o->cap_add) & ~o->cap_drop;
}

/* Checks that need several options; the command for --rootfs. */
/* What a job step needs, as Pyxis and Enroot pass it: Slurm's own
 * variables, the process-management interfaces MPI starts through, and the
 * GPUs Slurm bound to this task. */
static const char *const job_vars[] = {
	"SLURM_*",
	"SLURMD_NODENAME",
	"PMI_*",
	"PMIX_*",
	"CUDA_VISIBLE_DEVICES",
	"ROCR_VISIBLE_DEVICES",
	"GPU_DEVICE_ORDINAL",
};

/* What an MPI launcher gives each rank, in a Slurm job or not: a host
 * mpirun (Open MPI's hybrid model) or mpiexec (MPICH's Hydra, whose
 * MPIR_CVAR_ settings travel as variables too) starts `hutch run` as its
 * rank. */
static const char *const launcher_vars[] = {
	"PMI_*",       "PMIX_*",	  "OMPI_*",	     "PRTE_*",
	"MPIR_CVAR_*", "MPI_LOCALNRANKS", "MPI_LOCALRANKID",
};

/* Was hutch started as a rank by an MPI launcher? */
static bool launched(void)
{
	return getenv("PMIX_RANK") || getenv("PMI_RANK") ||
	       getenv("OMPI_COMM_WORLD_RANK");
}

/* Inside a Slurm job the job's variables come first, so that -e and
 * --env-file (already in cfg.env) win, and the image's Env before them. */
static int add_job_env(struct run_opts *o, struct hutch_err *err)
{
	cleanup_strv char **env = NULL;
	bool job = getenv("SLURM_JOB_ID") != NULL;

	if (o->no_job_env || (!job && !launched()))
		return 0;
	for (size_t i = 0; job && i < ARRAY_SIZE(job_vars); i++)
		if (push_matching(&env, job_vars[i]) < 0)
			return cmn_err_set(err, ENOMEM, "job environment");
	for (size_t i = 0; launched() && i < ARRAY_SIZE(launcher_vars); i++)
		if (push_matching(&env, launcher_vars[i]) < 0)
			return cmn_err_set(err, ENOMEM, "job environment");
	for (char **e = o->cfg.env; e && *e; e++)
		if (cmn_strv_push(&env, strdup(*e)) < 0)
			return cmn_err_set(err, ENOMEM, "job environment");
	cmn_strv_free(o->cfg.env);
	o->cfg.env = steal_ptr(&env);
	return 0;
}

/* Bind host directory @path at the same path, when it is there. */
static int bind_same(struct run_opts *o, const char *path, bool read_only)
{
	struct sbx_mount *m;
	struct stat st;

	if (!path || path[0] != '/' || stat(path, &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return 0;
	m = new_mount(o);
	if (!m)
		return -ENOMEM;
	m->kind = SBX_MOUNT_BIND;
	m->src = strdup(path);
	m->dst = strdup(path);
	m->read_only = read_only;
	return m->src && m->dst ? 0 : -ENOMEM;
}

/* The launcher's wiring: PMI2's descriptor, the PMIx server's rendezvous
 * directories (at the same paths: the variables name them), and the
 * InfiniBand devices. The host's /sys, bound with the host's network,
 * has the InfiniBand classes already. */
static int add_launcher_wiring(struct run_opts *o, struct hutch_err *err)
{
	const char *pmi_fd = getenv("PMI_FD");
	uint64_t fd;
	int ret = 0;

	if (!o->no_job_env && pmi_fd && cmn_parse_u64(pmi_fd, INT32_MAX, &fd) &&
	    fd >= 3 && fcntl((int)fd, F_GETFD) >= 0)
		o->cfg.keep_fd = (int)fd;
	/* Not PMIX_SYSTEM_TMPDIR: that is all of /tmp, for tools. */
	if (!o->no_job_env && (getenv("SLURM_JOB_ID") || launched()))
		ret = bind_same(o, getenv("PMIX_SERVER_TMPDIR"), false);
	if (ret == 0)
		ret = bind_same(o, "/dev/infiniband", false);
	if (ret == 0 && o->cfg.network != SBX_NET_HOST)
		ret = bind_same(o, "/sys/class/infiniband", true);
	return ret < 0 ? cmn_err_set(err, -ret, "launcher's mounts") : 0;
}

/* Without --join: the tasks of one Slurm step, the ranks of one PMIx
 * namespace (a host mpirun's job), or the ranks of one PMI-1/2 launcher
 * (MPICH's mpiexec) share a container on each node. */
static int auto_join(struct run_opts *o)
{
	const char *job = getenv("SLURM_JOB_ID");
	const char *step = getenv("SLURM_STEP_ID");
	const char *tasks = getenv("SLURM_STEP_NUM_TASKS");
	const char *ns = getenv("PMIX_NAMESPACE");
	const char *size = getenv("PMI_SIZE");

	if (o->join || o->detach || o->create_only)
		return 0;
	/* A PMI-1/2 launcher's group: none when /proc cannot tell. */
	if (!job && getenv("PMI_FD") && getenv("PMI_RANK") && size &&
	    atoi(size) > 1 && !(ns && getenv("PMIX_RANK"))) {
		o->join = ctr_pmi_launcher_group();
		return 0;
	}
	if (job && step && tasks && atoi(tasks) > 1)
		o->join = cmn_strdup_printf("slurm-%s.%s", job, step);
	else if (ns && getenv("PMIX_RANK"))
		o->join = cmn_strdup_printf("pmix-%s", ns);
	else
		return 0;
	return o->join ? 0 : -ENOMEM;
}

static int check_sharing(struct run_opts *o, struct hutch_err *err)
{
	if (o->cfg.uts == SBX_SHARE_HOST && o->cfg.hostname)
		return cmn_err_msg(
			err, EINVAL,
			"run: conflicting options: --hostname and --uts host (the host's name is the container's); drop one");
	if (o->join && o->join[0] && (o->detach || o->create_only))
		return cmn_err_msg(
			err, EINVAL,
			"run: --join runs in the foreground, as a task of a job does; drop -d");
	if (auto_join(o) < 0)
		return cmn_err_set(err, ENOMEM, "join");
	/* A rank is the caller inside too: a PMIx server checks that its
	 * client's uid is the job's (over TCP, from what the client says:
	 * root of the container's namespace would be refused). */
	if (launched() && !o->no_job_env && !o->userns_set && !o->cfg.user)
		o->cfg.userns = SBX_USERNS_KEEP_ID;
	return add_launcher_wiring(o, err);
}

static int finish_config(struct run_opts *o, int argc, char **argv,
			 struct hutch_err *err)
{
	int ret = add_job_env(o, err);

	if (ret == 0)
		ret = check_sharing(o, err);
	if (ret < 0)
		return ret;
	if (!o->cfg.rootfs && argc == 0)
		return cmn_err_msg(
			err, EINVAL,
			"run: no image given; use hutch run IMAGE [COMMAND], or --rootfs DIR COMMAND");
	if (o->cfg.rootfs && argc == 0)
		return cmn_err_msg(
			err, EINVAL,
			"run: no command given; put it after the options, e.g. hutch run --rootfs DIR -- sh");
	if (o->auto_remove && o->restart != CTR_RESTART_NO)
		return cmn_err_msg(
			err, EINVAL,
			"run: conflicting options: --restart and --rm");
	if (o->outlive_job && !o->detach)
		return cmn_err_msg(
			err, EINVAL,
			"run: --outlive-job needs -d: a foreground container ends with hutch, and so with the job");
	if (o->restart != CTR_RESTART_NO && !o->detach)
		return cmn_err_msg(
			err, EINVAL,
			"run: --restart needs -d: a foreground container ends with its terminal");
	if (o->cfg.tty && o->cfg.interactive && !o->detach && !isatty(0))
		return cmn_err_msg(
			err, ENOTTY,
			"run: the input device is not a TTY; drop -t, or run from a terminal");
	o->cfg.caps = final_caps(o);
	ret = cli_devices_apply(&o->cfg, o->devices, o->cdi_dirs, o->gpus, err);
	if (ret < 0)
		return ret;
	if ((o->cfg.ports || o->publish_all) && !o->network_set)
		o->cfg.network = SBX_NET_SLIRP;
	if ((o->cfg.ports || o->publish_all) && o->cfg.network != SBX_NET_SLIRP)
		return cmn_err_msg(
			err, EINVAL,
			"run: published ports need user-mode networking; drop --network or use --network slirp");
	if (!o->cfg.rootfs)
		return 0;
	o->cfg.argv = cmn_strv_dup(argv);
	return o->cfg.argv ? 0 : -ENOMEM;
}

/* What pull_missing() needs. */
struct pulling {
	struct cli_progress *bar;
	bool always; /* --pull always: a pull, not a missing image */
};

/* Docker's `run` pulls what is not there, its progress on stderr. */
static void pull_missing(void *ctx, const char *name, const struct img_ref *ref,
			 struct img_pull_opts *po)
{
	struct pulling *p = ctx;

	if (!p->always)
		fprintf(stderr, "Unable to find image '%s' locally\n", name);
	p->bar = cli_progress_new(stderr, isatty(2), ref->repo);
	po->progress = p->bar ? cli_progress_event : NULL;
	po->ctx = p->bar;
}

/* The record: the configuration moves from @o into the container. */
static struct ctr_container *make_container(struct run_opts *o,
					    const char *image)
{
	struct ctr_container *c = ctr_container_new();

	if (!c)
		return NULL;
	c->cfg = o->cfg;
	memset(&o->cfg, 0, sizeof(o->cfg));
	c->name = steal_ptr(&o->name);
	c->image = strdup(image);
	c->auto_remove = o->auto_remove;
	c->detached = o->detach;
	c->restart = o->restart;
	c->restart_max = o->restart_max;
	c->outlive_job = o->outlive_job;
	c->awaits_start = o->create_only;
	c->ports = steal_ptr(&o->shown_ports);
	c->publish_all = o->publish_all;
	c->labels = steal_ptr(&o->labels);
	c->health_cfg = o->health;
	memset(&o->health, 0, sizeof(o->health));
	if (o->join && o->join[0])
		c->join = steal_ptr(&o->join);
	if (!c->image) {
		ctr_container_free(c);
		return NULL;
	}
	return c;
}

static int start(struct run_opts *o, const char *image, char **args,
		 int *status, struct hutch_err *err)
{
	struct pulling pulling = { .always = o->pull &&
					     !strcmp(o->pull, "always") };
	const struct ctr_source src = {
		.image = o->cfg.rootfs ? NULL : image,
		.args = args,
		.entrypoint = o->entrypoint,
		.overlay = o->overlay,
		.upper_dir = o->upper_dir,
		.get = { .pull = !o->pull || strcmp(o->pull, "never"),
			 .always = o->pull && !strcmp(o->pull, "always"),
			 .platform = o->platform,
			 .missing = pull_missing,
			 .ctx = &pulling },
	};
	struct ctr_container *c = make_container(o, image);
	int ret = c ? ctr_container_make(c, &src, err)
		    : cmn_err_set(err, ENOMEM, "container");

	cli_progress_free(pulling.bar);
	if (ret == 0 && o->create_only) {
		printf("%s\n", c->cfg.id);
		*status = 0;
	} else if (ret == 0 && o->detach) {
		ret = ctr_container_start(c, status, err);
		if (ret == 0)
			printf("%s\n", c->cfg.id);
	} else if (ret == 0) {
		ret = ctr_container_run(c, status, err);
	}
	ctr_container_free(c);
	return ret;
}

static int run(struct run_opts *o, int argc, char **argv)
{
	struct hutch_err err = { 0 };
	int first, ret, status = CMN_EXIT_HUTCH;
	bool help;

	first = cli_parse(o->create_only ? &cli_create_cmd : &cli_run_cmd,
			  run_options, ARRAY_SIZE(run_options), o, argc, argv,
			  &help, &err);
	if (first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (help)
		return 0;
	if (o->create_only && o->detach) {
		cmn_err_msg(
			&err, EINVAL,
			"create: -d is run's: a created container starts with 'hutch start', in the background unless -a");
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	if (finish_config(o, argc - first, argv + first, &err) < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (o->cfg.rootfs)
		ret = start(o, o->cfg.rootfs, NULL, &status, &err);
	else
		ret = start(o, argv[first], argv + first + 1, &status, &err);
	if (ret < 0)
		return cli_fail(&err, status);
	return o->detach || o->create_only ? 0 : status;
}

static int run_or_create(int argc, char **argv, bool create_only)
{
	struct run_opts o = { .restart = CTR_RESTART_NO,
			      .create_only = create_only };
	struct hutch_err err = { 0 };
	int status;

	const char *driver = getenv("HUTCH_STORAGE_DRIVER");
	const struct sbx_storage_driver *ignored;

	if (driver && sbx_storage_parse(driver, &ignored, &err) < 0) {
		cmn_err_msg(
			&err, EINVAL,
			"HUTCH_STORAGE_DRIVER=%s is not a storage driver: use auto, kernel or fuse",
			driver);
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	if (sbx_config_init(&o.cfg) < 0) {
		cmn_err_set(&err, errno, "cannot make a container id");
		return cli_fail(&err, CMN_EXIT_HUTCH);
	}
	status = run(&o, argc, argv);
	free(o.upper_dir);
	cmn_strv_free(o.devices);
	cmn_strv_free(o.cdi_dirs);
	free(o.join);
	sbx_config_free(&o.cfg);
	free(o.entrypoint);
	free(o.name);
	cmn_strv_free(o.shown_ports);
	cmn_strv_free(o.labels);
	ctr_healthcheck_clear(&o.health);
	return status;
}

static int run_main(int argc, char **argv)
{
	return run_or_create(argc, argv, false);
}

static int create_main(int argc, char **argv)
{
	return run_or_create(argc, argv, true);
}
