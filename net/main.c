// SPDX-License-Identifier: Apache-2.0
/* main.c - hutch-net: user-mode networking for a container's netns
 *
 * Theory of operation (the parts are described in their files)
 *
 *   1. Decide: parse the options into a struct net_config.
 *   2. Open the container's user and network namespaces, and bind every
 *      published port in the host's namespace (ports.c); a taken port
 *      fails here, before anything else happened.
 *   3. Fork the child that joins the container's namespaces, creates and
 *      configures the tap with libnl and passes its descriptor back
 *      (nsjoin.c, tap.c); with published ports that child stays on as the
 *      forwarder, serving the listeners it inherited (forward*.c).
 *   4. Start libslirp on the tap (slirp.c), tell the starter "ready", and
 *      run libslirp's loop until the container exits, --exit-fd fires, a
 *      signal arrives, or the starter dies (PR_SET_PDEATHSIG).
 *   5. Stop the forwarder, which closes the listeners, and libslirp.
 *
 * The process stays in the host's user and network namespaces throughout:
 * libslirp's sockets are the container's way out and must be created here.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libslirp.h>

#include "net/net-internal.h"

#define EXIT_USAGE 2
/* glibc's heap threshold for mmap'd blocks, fixed (see slirp.c): above a
 * 64 KiB mbuf of MTU 65520, below libslirp's 128 KiB socket buffers. */
#define MMAP_THRESHOLD	   (96 * 1024)
#define FORWARDER_GRACE_MS 2000

/* ---- options (table-driven) ---------------------------------------------- */

struct opt {
	const char *name;
	char short_name;
	const char *arg; /* NULL: a flag */
	const char *help;
	int (*set)(struct net_config *cfg, const char *arg,
		   struct hutch_err *err);
};

static int parse_uint(const char *arg, uint64_t max, const char *what,
		      uint64_t *out, struct hutch_err *err)
{
	if (cmn_parse_u64(arg, max, out))
		return 0;
	return cmn_err_msg(err, EINVAL,
			   "%s '%s' is not a number from 0 to %llu", what, arg,
			   (unsigned long long)max);
}

static int set_mtu(struct net_config *cfg, const char *arg,
		   struct hutch_err *err)
{
	uint64_t v;

	if (parse_uint(arg, 65521, "--mtu", &v, err) < 0 || v < 1280)
		return cmn_err_msg(
			err, EINVAL,
			"--mtu '%s' must be from 1280 (IPv6's minimum) to 65521 (libslirp's maximum)",
			arg);
	cfg->mtu = v;
	return 0;
}

static int set_publish(struct net_config *cfg, const char *arg,
		       struct hutch_err *err)
{
	struct net_port_spec *v;
	int ret;

	v = realloc(cfg->specs, (cfg->nspecs + 1) * sizeof(*v));
	if (!v)
		return cmn_err_set(err, ENOMEM, "-p %s", arg);
	cfg->specs = v;
	ret = net_portspec_parse(arg, &v[cfg->nspecs], err);
	if (ret == 0)
		cfg->nspecs++;
	return ret;
}

static int set_fd(const char *arg, const char *what, int *fd,
		  struct hutch_err *err)
{
	uint64_t v;

	if (parse_uint(arg, 1 << 20, what, &v, err) < 0)
		return -EINVAL;
	/* F_GETFD fails only with EBADF: the starter did not pass it. */
	if (fcntl((int)v, F_GETFD) < 0)
		return cmn_err_msg(
			err, EBADF,
			"%s %s: no such open descriptor; start hutch-net with descriptor %s open (as in %s>FILE)",
			what, arg, arg, arg);
	*fd = v;
	fcntl(*fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static int set_ready_fd(struct net_config *cfg, const char *arg,
			struct hutch_err *err)
{
	return set_fd(arg, "--ready-fd", &cfg->ready_fd, err);
}

static int set_exit_fd(struct net_config *cfg, const char *arg,
		       struct hutch_err *err)
{
	return set_fd(arg, "--exit-fd", &cfg->exit_fd, err);
}

static int set_ports_fd(struct net_config *cfg, const char *arg,
			struct hutch_err *err)
{
	return set_fd(arg, "--ports-fd", &cfg->ports_fd, err);
}

static int set_netns_type(struct net_config *cfg, const char *arg,
			  struct hutch_err *err)
{
	if (strcmp(arg, "pid") == 0 || strcmp(arg, "path") == 0) {
		cfg->pid = strcmp(arg, "pid") == 0 ? 0 : -1;
		return 0;
	}
	return cmn_err_msg(err, EINVAL, "--netns-type '%s' must be pid or path",
			   arg);
}

static int set_userns_path(struct net_config *cfg, const char *arg,
			   struct hutch_err *err)
{
	free(cfg->userns_path);
	cfg->userns_path = strdup(arg);
	return cfg->userns_path ? 0 : cmn_err_set(err, ENOMEM, "%s", arg);
}

static int set_allow_loopback(struct net_config *cfg, const char *arg,
			      struct hutch_err *err)
{
	(void)arg;
	(void)err;
	cfg->allow_host_loopback = true;
	return 0;
}

static int set_disable_loopback(struct net_config *cfg, const char *arg,
				struct hutch_err *err)
{
	(void)arg;
	(void)err;
	cfg->allow_host_loopback = false;
	return 0;
}

static int set_no_ipv6(struct net_config *cfg, const char *arg,
		       struct hutch_err *err)
{
	(void)arg;
	(void)err;
	cfg->ipv6 = false;
	return 0;
}

static int set_udp_timeout(struct net_config *cfg, const char *arg,
			   struct hutch_err *err)
{
	uint64_t v;

	if (parse_uint(arg, 86400, "--udp-timeout", &v, err) < 0 || v == 0)
		return cmn_err_msg(
			err, EINVAL,
			"--udp-timeout '%s' must be seconds from 1 to 86400",
			arg);
	cfg->udp_timeout_ms = v * 1000;
	return 0;
}

static int set_noop(struct net_config *cfg, const char *arg,
		    struct hutch_err *err)
{
	(void)cfg;
	(void)arg;
	(void)err;
	return 0;
}

static int set_debug(struct net_config *cfg, const char *arg,
		     struct hutch_err *err)
{
	(void)cfg;
	(void)arg;
	(void)err;
	cmn_log_level = CMN_LOG_DEBUG;
	return 0;
}

static const struct opt opts[] = {
	{ "publish", 'p', "SPEC",
	  "publish a container port: [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]; ranges A-B; the host address defaults to 127.0.0.1 (give 0.0.0.0 to listen on every interface); repeatable",
	  set_publish },
	{ "mtu", 'm', "N", "MTU of the tap and of libslirp (default 65520)",
	  set_mtu },
	{ "allow-host-loopback", 0, NULL,
	  "let 10.0.2.2 reach the host's 127.0.0.1 (default: refused)",
	  set_allow_loopback },
	{ "disable-host-loopback", 0, NULL,
	  "refuse 10.0.2.2 -> host 127.0.0.1 (the default)",
	  set_disable_loopback },
	{ "disable-ipv6", 0, NULL, "configure IPv4 only", set_no_ipv6 },
	{ "ready-fd", 0, "FD",
	  "write one NUL byte to FD when the network is usable, or an error line if it cannot be",
	  set_ready_fd },
	{ "exit-fd", 0, "FD", "exit when FD becomes readable or hangs up",
	  set_exit_fd },
	{ "ports-fd", 0, "FD",
	  "before ready, list the bound ports on FD, one per line: PROTO HOSTADDR:PORT CONTAINERPORT",
	  set_ports_fd },
	{ "netns-type", 0, "pid|path",
	  "whether the operand is a PID (default) or a netns path",
	  set_netns_type },
	{ "userns-path", 0, "PATH",
	  "the user namespace to join with --netns-type=path",
	  set_userns_path },
	{ "udp-timeout", 0, "SECONDS",
	  "drop a published UDP flow after this long silent (default 90)",
	  set_udp_timeout },
	{ "configure", 'c', NULL, "accepted for slirp4netns's users; always on",
	  set_noop },
	{ "debug", 0, NULL, "log what happens", set_debug },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hutch-net [OPTION]... PID|PATH [TAPNAME]\n"
		   "User-mode networking for a container's network namespace: "
		   "a tap device (default eth0,\n10.0.2.100/24, gateway "
		   "10.0.2.2, DNS 10.0.2.3) carried by libslirp, and published "
		   "ports.\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s",
			 opts[i].short_name ? "-" : "",
			 opts[i].short_name ? opts[i].short_name : ' ',
			 opts[i].short_name ? ", " : "  ", opts[i].name,
			 opts[i].arg ? "=" : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-32s %s\n", left, opts[i].help);
	}
	fprintf(f, "  %-32s %s\n  %-32s %s\n", "-h, --help", "this help",
		"    --version", "print the version");
}

/* ---- parsing ------------------------------------------------------------ */

enum {
	OPT_HELP = 1000,
	OPT_VERSION
};

static void build_longopts(struct option *lo, char *shorts)
{
	size_t i;

	*shorts++ = '+';
	*shorts++ = 'h';
	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		lo[i] = (struct option){ opts[i].name,
					 opts[i].arg ? required_argument
						     : no_argument,
					 NULL, (int)i };
		if (opts[i].short_name) {
			*shorts++ = opts[i].short_name;
			if (opts[i].arg)
				*shorts++ = ':';
		}
	}
	lo[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	lo[i++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	lo[i] = (struct option){ 0 };
	*shorts = '\0';
}

/* The index in opts[] of short option @c, or -1. */
static int short_index(int c)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].short_name == c)
			return i;
	return -1;
}

/* The option that long option @arg ("--name[=value]") names, as
 * getopt_long reads it (a unique abbreviation will do), or NULL. */
static const struct opt *long_find(const char *arg)
{
	size_t len = strcspn(arg + 2, "=");
	const struct opt *found = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		if (strncmp(opts[i].name, arg + 2, len) != 0)
			continue;
		if (opts[i].name[len] == '\0')
			return &opts[i];
		if (found)
			return NULL; /* ambiguous */
		found = &opts[i];
	}
	return found;
}

/* What getopt refused at @arg: an option it does not know, one whose
 * value is missing, or a flag given one. optopt holds a short option's
 * letter; for a long one it is 0 or the option's index, which no letter
 * equals, so long options are looked up by name. */
static int bad_option(const char *arg, struct hutch_err *err)
{
	int i = optopt ? short_index(optopt) : -1;
	const struct opt *o = i >= 0			  ? &opts[i]
			      : cmn_has_prefix(arg, "--") ? long_find(arg)
							  : NULL;

	if (o && o->arg)
		return cmn_err_msg(
			err, EINVAL,
			"option --%s needs a value: write --%s=%s; see hutch-net --help",
			o->name, o->name, o->arg);
	if (o && strchr(arg, '='))
		return cmn_err_msg(
			err, EINVAL,
			"option --%s takes no value: write just --%s", o->name,
			o->name);
	if (optopt && !cmn_has_prefix(arg, "--"))
		return cmn_err_msg(
			err, EINVAL,
			"unknown option '-%c'; see hutch-net --help for the options it accepts",
			optopt);
	return cmn_err_msg(
		err, EINVAL,
		"unknown option '%s'; see hutch-net --help for the options it accepts",
		arg);
}

static int parse_operands(struct net_config *cfg, int argc, char **argv,
			  struct hutch_err *err)
{
	uint64_t pid;

	if (argc < 1 || argc > 2)
		return cmn_err_msg(
			err, EINVAL,
			"expected PID|PATH [TAPNAME], got %d operands; see hutch-net --help",
			argc);
	if (argc == 2 &&
	    (strlen(argv[1]) >= IFNAMSIZ || !*argv[1] || strchr(argv[1], '/')))
		return cmn_err_msg(
			err, EINVAL,
			"tap name '%s' is not a valid interface name (1-15 characters, no '/')",
			argv[1]);
	if (argc == 2)
		snprintf(cfg->tap_name, sizeof(cfg->tap_name), "%s", argv[1]);
	if (cfg->pid < 0) {
		cfg->pid = 0;
		cfg->netns_path = strdup(argv[0]);
		return cfg->netns_path
			       ? 0
			       : cmn_err_set(err, ENOMEM, "%s", argv[0]);
	}
	if (!cmn_parse_u64(argv[0], INT32_MAX, &pid) || pid == 0)
		return cmn_err_msg(
			err, EINVAL,
			"'%s' is not a process id; give the container's PID, or a path with --netns-type=path",
			argv[0]);
	cfg->pid = pid;
	cfg->netns_path = cmn_strdup_printf("/proc/%d/ns/net", cfg->pid);
	if (!cfg->userns_path)
		cfg->userns_path =
			cmn_strdup_printf("/proc/%d/ns/user", cfg->pid);
	return cfg->netns_path && cfg->userns_path
		       ? 0
		       : cmn_err_set(err, ENOMEM, "%s", argv[0]);
}

/* Returns 0 to go on, 1 when --help or --version was answered, -errno. */
static int parse_args(struct net_config *cfg, int argc, char **argv,
		      struct hutch_err *err)
{
	struct option lo[ARRAY_SIZE(opts) + 3];
	char shorts[2 * ARRAY_SIZE(opts) + 3];
	int c, idx;

	build_longopts(lo, shorts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			usage(stdout);
			return 1;
		}
		if (c == OPT_VERSION) {
			printf("hutch-net version %s\nlibslirp: %s\n",
			       cmn_version_string(), slirp_version_string());
			return 1;
		}
		idx = (c >= 0 && c < (int)ARRAY_SIZE(opts)) ? c
							    : short_index(c);
		if (c == '?' || c == ':' || idx < 0)
			return bad_option(argv[optind - 1], err);
		if (opts[idx].set(cfg, optarg, err) < 0)
			return -EINVAL;
	}
	return parse_operands(cfg, argc - optind, argv + optind, err);
}

/* ---- running ------------------------------------------------------------ */

/* The one line a starter shows its user; also on our stderr. */
static int fail(const struct net_config *cfg, const struct hutch_err *err)
{
	char line[sizeof(err->msg) + 16];
	int n = snprintf(line, sizeof(line), "hutch-net: %s\n", err->msg);

	if (cfg->ready_fd >= 0 && n > 0)
		cmn_write_all(cfg->ready_fd, line, strlen(line));
	cmn_log(CMN_LOG_ERROR, "%s", err->msg);
	return 1;
}

static void report_ready(struct net_config *cfg)
{
	if (cfg->ready_fd < 0)
		return;
	cmn_write_all(cfg->ready_fd, "", 1);
	close(cfg->ready_fd);
	cfg->ready_fd = -1;
}

/* Signals arrive on a descriptor; SIGPIPE becomes EPIPE. */
static int signals_fd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Stop the forwarder: SIGTERM, a grace period, then SIGKILL. */
static void stop_forwarder(pid_t fwd)
{
	bool ticks;
	int fd;

	if (fwd <= 0)
		return;
	fd = net_life_watch_pid(fwd, &ticks);
	kill(fwd, SIGTERM);
	if (fd >= 0 && !ticks) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, FORWARDER_GRACE_MS) == 0)
			kill(fwd, SIGKILL);
	}
	if (fd >= 0)
		close(fd);
	while (waitpid(fwd, NULL, 0) < 0 && errno == EINTR)
		;
}

/* What run() holds; teardown() releases whatever was acquired. */
struct state {
	struct net_ns ns;
	struct net_listener *l;
	size_t nl;
	int tap, watch, sigfd;
	bool ticks; /* @watch is a 1 s timer, not a pidfd */
	pid_t fwd;
	struct net_slirp *slirp;
};

static int setup(struct net_config *cfg, struct state *st,
		 struct hutch_err *err)
{
	int ret = net_ns_open(cfg, &st->ns, err);

	if (ret == 0)
		ret = net_ports_bind(cfg->specs, cfg->nspecs, &st->l, &st->nl,
				     err);
	if (ret == 0 && cfg->ports_fd >= 0) {
		ret = net_ports_report(cfg->ports_fd, st->l, st->nl);
		cfg->ports_fd = -1;
		if (ret < 0)
			cmn_err_set(err, -ret, "cannot write to --ports-fd");
	}
	if (ret == 0)
		ret = net_nsjoin_spawn(cfg, &st->ns, st->l, st->nl, &st->tap,
				       &st->fwd, err);
	/* The forwarder has the listeners now; ours would keep the ports
	 * bound after it is gone. */
	net_ports_close(st->l, st->nl);
	st->l = NULL;
	net_ns_close(&st->ns);
	if (ret < 0)
		return ret;
	if (cfg->pid > 0) {
		st->watch = net_life_watch_pid(cfg->pid, &st->ticks);
		if (st->watch < 0)
			return cmn_err_set(
				err, -st->watch,
				"cannot watch the container's process %d",
				cfg->pid);
	}
	st->slirp = net_slirp_new(cfg, st->tap, err);
	return st->slirp ? 0 : -ENOMEM;
}

static void teardown(struct state *st)
{
	stop_forwarder(st->fwd);
	net_slirp_free(st->slirp);
	if (st->tap >= 0)
		close(st->tap);
	if (st->watch >= 0)
		close(st->watch);
	if (st->sigfd >= 0)
		close(st->sigfd);
}

/* Read the pending signals: 1 to stop, 0 to go on, -1 when the forwarder
 * died. */
static int take_signals(struct state *st)
{
	struct signalfd_siginfo si;
	int stop = 0, status;

	while (read(st->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			stop = 1;
			continue;
		}
		if (st->fwd > 0 &&
		    waitpid(st->fwd, &status, WNOHANG) == st->fwd) {
			cmn_log(CMN_LOG_ERROR,
				"the port forwarder died (status %#x); published ports are gone",
				status);
			st->fwd = 0;
			return -1;
		}
	}
	return stop;
}

/* Run libslirp until something says stop; the exit status. */
static int serve(const struct net_config *cfg, struct state *st)
{
	int stop[3] = { st->sigfd, st->watch, cfg->exit_fd };
	size_t n = 1 + (st->watch >= 0);
	uint64_t ticks;

	if (cfg->exit_fd >= 0)
		stop[n++] = cfg->exit_fd;
	for (;;) {
		int i = net_slirp_run(st->slirp, stop, n);

		/* The kernel deletes the tap with the namespace: when the
		 * container exits, that may be seen before the pidfd. */
		if (i == -EPIPE || i == -EBADFD) {
			cmn_debug("the tap is gone with the container");
			return 0;
		}
		if (i < 0) {
			cmn_log(CMN_LOG_ERROR, "the tap failed: %s",
				strerror(-i));
			return 1;
		}
		if (stop[i] == st->sigfd) {
			int r = take_signals(st);

			if (r != 0)
				return r < 0 ? 1 : 0;
			continue;
		}
		if (stop[i] == st->watch && st->ticks) {
			if (read(st->watch, &ticks, sizeof(ticks)) < 0 ||
			    net_life_alive(cfg->pid))
				continue;
		}
		cmn_debug("the container is gone; stopping");
		return 0;
	}
}

static int run(struct net_config *cfg)
{
	struct state st = { .tap = -1, .watch = -1, .fwd = 0 };
	struct hutch_err err = { 0 };
	int status = 1;

	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	net_life_raise_nofile();
	if (net_life_pdeathsig(SIGTERM, getppid()) < 0)
		return 0; /* the starter is gone already */
	st.sigfd = signals_fd();
	if (st.sigfd < 0)
		cmn_err_set(&err, -st.sigfd, "cannot set up signals");
	else if (setup(cfg, &st, &err) == 0)
		status = -1;
	if (status == 1)
		fail(cfg, &err);
	else {
		report_ready(cfg);
		status = serve(cfg, &st);
	}
	teardown(&st);
	return status;
}

int main(int argc, char **argv)
{
	struct net_config cfg;
	struct hutch_err err = { 0 };
	int ret, status;

	cmn_log_init("hutch-net");
	net_config_init(&cfg);
	ret = parse_args(&cfg, argc, argv, &err);
	if (ret < 0) {
		fail(&cfg, &err);
		net_config_free(&cfg);
		return EXIT_USAGE;
	}
	status = ret == 1 ? 0 : run(&cfg);
	net_config_free(&cfg);
	return status;
}
