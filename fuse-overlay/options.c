// SPDX-License-Identifier: Apache-2.0
/* options.c - hutch-overlay's command line, compatible with fuse-overlayfs
 *
 * Podman's storage.conf runs its mount_program as
 * "PROG -o lowerdir=...,upperdir=...,workdir=...[,more] MOUNTPOINT", so the
 * -o names follow fuse-overlayfs. Every -o word is looked up in one table;
 * a word that is not there is an error (with the table printed by --help),
 * never silently dropped. Generic mount options that FUSE understands are
 * passed on to libfuse; a few options of fuse-overlayfs and the kernel's
 * overlayfs that describe what we always do (or cannot change) are
 * accepted and ignored.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse-overlay/ovl-internal.h"

enum opt_kind {
	OPT_STR,      /* name=value, kept in a char * field */
	OPT_LOWER,    /* the lowerdir list */
	OPT_FLAG,     /* bare name sets a bool */
	OPT_BOOL,     /* name=0|1 (bare name: 1) sets a bool */
	OPT_ID,	      /* name=N, a uid or gid */
	OPT_SECS,     /* name=SECONDS (decimal allowed) */
	OPT_UINT,     /* name=N */
	OPT_IDMAP,    /* uidmapping= / gidmapping= */
	OPT_RDP,      /* readdirplus=yes|auto|no */
	OPT_REDIR,    /* redirect_dir=on|follow|nofollow|off */
	OPT_FUSE,     /* bare name handed to libfuse unchanged */
	OPT_FUSE_STR, /* name=value handed to libfuse unchanged */
	OPT_FUSE_NUM, /* name=N handed to libfuse unchanged */
	OPT_IGNORE,   /* accepted for compatibility, no effect */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off;  /* offsetof the field in struct ovl_opts */
	bool invert; /* OPT_FLAG/OPT_BOOL: store the negation */
	const char *help;
};

#define F(field) offsetof(struct ovl_opts, field)

static const struct opt_def opt_table[] = {
	{ "lowerdir", OPT_LOWER, 0, false,
	  "DIR[:DIR...] read-only layers, top first" },
	{ "upperdir", OPT_STR, F(upperdir), false, "DIR the writable layer" },
	{ "workdir", OPT_STR, F(workdir), false,
	  "DIR scratch space on upperdir's filesystem" },
	{ "uidmapping", OPT_IDMAP, F(uidmap), false,
	  "C:H:N[:C:H:N...] map uids (container:disk:count)" },
	{ "gidmapping", OPT_IDMAP, F(gidmap), false,
	  "C:H:N[:C:H:N...] map gids" },
	{ "squash_to_root", OPT_FLAG, 0, false,
	  "everything appears owned by 0:0" },
	{ "squash_to_uid", OPT_ID, F(squash_uid), false,
	  "N everything appears owned by uid N" },
	{ "squash_to_gid", OPT_ID, F(squash_gid), false,
	  "N everything appears owned by gid N" },
	{ "static_nlink", OPT_FLAG, F(static_nlink), false,
	  "directories report a link count of 1" },
	{ "fsync", OPT_BOOL, F(fsync), false,
	  "0 makes fsync a no-op (throwaway containers)" },
	{ "volatile", OPT_FLAG, F(fsync), true, "the same as fsync=0" },
	{ "timeout", OPT_SECS, F(upper_timeout), false,
	  "SECONDS the kernel caches entries of the upper (default 86400)" },
	{ "lower_timeout", OPT_SECS, F(lower_timeout), false,
	  "SECONDS the kernel caches entries only lowers hold (default 86400)" },
	{ "writeback", OPT_BOOL, F(writeback), false,
	  "0 disables the kernel's writeback cache" },
	{ "splice_read", OPT_BOOL, F(splice_read), false,
	  "1 takes written data from the kernel with splice(2)" },
	{ "splice_write", OPT_BOOL, F(splice_write), false,
	  "1 splices read data to the kernel (no faster here)" },
	{ "threads", OPT_UINT, F(threads), false,
	  "N worker threads at most (default 8)" },
	{ "ready_fd", OPT_UINT, F(ready_fd), false,
	  "N write one byte to descriptor N once mounted" },
	{ "exit_with_mntns", OPT_FLAG, F(exit_with_mntns), false,
	  "unmount and exit when the mount namespace dies" },
	{ "oci_whiteouts", OPT_FLAG, F(oci_whiteouts), false,
	  "write .wh.NAME whiteouts and .wh..wh..opq (OCI layer format)" },
	{ "debug", OPT_FLAG, F(debug), false,
	  "log every request (implies -f)" },
	{ "allow_other", OPT_FLAG, F(allow_other), false,
	  "let other users in (default when mounted as root)" },
	{ "ro", OPT_FLAG, F(readonly), false, "mount read-only" },
	/* Generic mount options libfuse understands. */
	{ "rw", OPT_FUSE, 0, false, NULL },
	{ "nodev", OPT_FUSE, 0, false, NULL },
	{ "dev", OPT_FUSE, 0, false, NULL },
	{ "nosuid", OPT_FUSE, 0, false, NULL },
	{ "suid", OPT_FUSE, 0, false, NULL },
	{ "noexec", OPT_FUSE, 0, false, NULL },
	{ "exec", OPT_FUSE, 0, false, NULL },
	{ "noatime", OPT_FUSE, 0, false, NULL },
	{ "atime", OPT_FUSE, 0, false, NULL },
	{ "nodiratime", OPT_FUSE, 0, false, NULL },
	{ "relatime", OPT_FUSE, 0, false, NULL },
	{ "norelatime", OPT_FUSE, 0, false, NULL },
	{ "strictatime", OPT_FUSE, 0, false, NULL },
	{ "lazytime", OPT_FUSE, 0, false, NULL },
	{ "nolazytime", OPT_FUSE, 0, false, NULL },
	{ "sync", OPT_FUSE, 0, false, NULL },
	{ "async", OPT_FUSE, 0, false, NULL },
	{ "dirsync", OPT_FUSE, 0, false, NULL },
	{ "allow_root", OPT_FUSE, 0, false, NULL },
	{ "auto_unmount", OPT_FUSE, 0, false, NULL },
	{ "fsname", OPT_FUSE_STR, 0, false, NULL },
	{ "subtype", OPT_FUSE_STR, 0, false, NULL },
	{ "max_read", OPT_FUSE_NUM, 0, false, NULL },
	/* Always true here, or without meaning for a FUSE overlay. */
	{ "default_permissions", OPT_IGNORE, 0, false, NULL },
	{ "noacl", OPT_IGNORE, 0, false, NULL },
	{ "userxattr", OPT_IGNORE, 0, false, NULL },
	{ "index", OPT_IGNORE, 0, false, NULL },
	{ "metacopy", OPT_IGNORE, 0, false, NULL },
	{ "xino", OPT_IGNORE, 0, false, NULL },
	{ "ino32_t", OPT_IGNORE, 0, false, NULL },
	{ "fast_ino", OPT_IGNORE, 0, false, NULL },
	{ "redirect_dir", OPT_REDIR, F(no_redirect), false,
	  "on renames merged directories as the kernel's redirect_dir=on\n"
	  "                     (off, the default: EXDEV, mv copies)" },
	{ "readdirplus", OPT_RDP, F(readdirplus), false,
	  "yes|auto|no listings carry attributes (default auto)" },
	{ "threaded", OPT_BOOL, F(single_thread), true,
	  "0 serves requests in one thread (as -s)" },
	{ "plugins", OPT_IGNORE, 0, false, NULL },
	{ "xattr_permissions", OPT_IGNORE, 0, false, NULL },
	{ "noxattrs", OPT_IGNORE, 0, false, NULL },
	{ "context", OPT_IGNORE, 0, false, NULL },
	{ "fscontext", OPT_IGNORE, 0, false, NULL },
	{ "defcontext", OPT_IGNORE, 0, false, NULL },
	{ "rootcontext", OPT_IGNORE, 0, false, NULL },
	{ "nonempty", OPT_IGNORE, 0, false, NULL },
};

#undef F

const char *ovl_usage(void)
{
	static char text[4096];
	size_t used;

	if (text[0])
		return text;
	used = snprintf(
		text, sizeof(text),
		"usage: hutch-overlay [-f] [-d] [-s] [--ready-fd=N] [--exit-with-mntns]\n"
		"                     -o lowerdir=L1[:L2...][,upperdir=U,workdir=W][,OPT...] MOUNTPOINT\n"
		"\n"
		"A copy-on-write overlay of directories (kernel overlayfs semantics) over FUSE.\n"
		"  -f                 stay in the foreground\n"
		"  -d                 debug: log every request (implies -f)\n"
		"  -s                 serve requests in a single thread\n"
		"  --ready-fd=N       write one byte to descriptor N once the mount is live\n"
		"  --exit-with-mntns  unmount and exit when the last other process of the\n"
		"                     mount namespace is gone (start it inside that namespace)\n"
		"options (-o):\n");
	for (size_t i = 0; i < ARRAY_SIZE(opt_table) && used < sizeof(text);
	     i++) {
		if (!opt_table[i].help)
			continue;
		used += snprintf(text + used, sizeof(text) - used,
				 "  %-18s %s\n", opt_table[i].name,
				 opt_table[i].help);
	}
	if (used < sizeof(text))
		snprintf(
			text + used, sizeof(text) - used,
			"  and the mount options ro rw nodev nosuid noexec noatime ... (passed to FUSE)\n");
	return text;
}

static const struct opt_def *opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++) {
		if (strlen(opt_table[i].name) == len &&
		    strncmp(opt_table[i].name, name, len) == 0)
			return &opt_table[i];
	}
	return NULL;
}

/* Split "a:b\:c:d" at unescaped colons, as the kernel's lowerdir does. */
static int parse_lowerdirs(const char *val, struct ovl_opts *o)
{
	cleanup_free char *cur = malloc(strlen(val) + 1);
	size_t n = 0;

	if (!cur)
		return -ENOMEM;
	cmn_strv_free(o->lowerdirs);
	o->lowerdirs = NULL;
	for (const char *p = val;; p++) {
		if (*p == '\\' && p[1]) {
			cur[n++] = *++p;
			continue;
		}
		if (*p != ':' && *p) {
			cur[n++] = *p;
			continue;
		}
		cur[n] = '\0';
		/* "::" separates data-only layers in newer kernels: skip. */
		if (n > 0) {
			char *dup = strdup(cur);
			int r = dup ? cmn_strv_push(&o->lowerdirs, dup)
				    : -ENOMEM;

			if (r < 0)
				return r;
		}
		n = 0;
		if (!*p)
			break;
	}
	return 0;
}

static int add_fuse_opt(struct ovl_opts *o, const char *word)
{
	char *s;

	if (o->fuse_opts)
		s = cmn_strdup_printf("%s,%s", o->fuse_opts, word);
	else
		s = strdup(word);
	if (!s)
		return -ENOMEM;
	free(o->fuse_opts);
	o->fuse_opts = s;
	return 0;
}

static int bad_number(const struct opt_def *d, const char *val,
		      struct hutch_err *err)
{
	return cmn_err_msg(
		err, EINVAL,
		"option %s: '%s' is not a number; give a whole number, as in %s=N",
		d->name, val, d->name);
}

static int set_value(const struct opt_def *d, const char *word, const char *val,
		     struct ovl_opts *o, struct hutch_err *err)
{
	char *field = (char *)o + d->off;
	uint64_t u;

	switch (d->kind) {
	case OPT_STR: {
		char *dup = strdup(val);

		if (!dup)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
	case OPT_LOWER:
		return parse_lowerdirs(val, o);
	case OPT_ID:
		if (!cmn_parse_u64(val, UINT32_MAX - 1, &u))
			return cmn_err_msg(
				err, EINVAL,
				"option %s: '%s' is not a numeric id; give a number, as in %s=1000",
				d->name, val, d->name);
		*(long *)field = (long)u;
		return 0;
	case OPT_UINT:
		if (!cmn_parse_u64(val, INT_MAX, &u))
			return bad_number(d, val, err);
		if (d->off == offsetof(struct ovl_opts, ready_fd))
			*(int *)field = (int)u;
		else
			*(unsigned *)field = (unsigned)u;
		return 0;
	case OPT_SECS: {
		char *end;
		double v = strtod(val, &end);

		if (!*val || *end || v < 0 || v > 1e9)
			return cmn_err_msg(
				err, EINVAL,
				"option %s: '%s' is not a number of seconds; give one from 0 to 1000000000, as in %s=1.5",
				d->name, val, d->name);
		*(double *)field = v;
		return 0;
	}
	case OPT_IDMAP:
		if (ovl_idmap_parse(val, (struct ovl_idmap *)field) < 0)
			return cmn_err_msg(
				err, EINVAL,
				"option %s: '%s' is not a list of container:host:count triples; write %s=C:H:N[:C:H:N...], as in %s=0:1000:1",
				d->name, val, d->name, d->name);
		return 0;
	case OPT_BOOL:
		if (strcmp(val, "0") && strcmp(val, "1") &&
		    strcmp(val, "true") && strcmp(val, "false"))
			return cmn_err_msg(
				err, EINVAL,
				"option %s: '%s' is not 0 or 1; write %s=0 or %s=1",
				d->name, val, d->name, d->name);
		*(bool *)field = (val[0] == '1' || val[0] == 't') != d->invert;
		return 0;
	case OPT_RDP:
		if (strcmp(val, "yes") == 0)
			o->readdirplus = OVL_RDP_YES;
		else if (strcmp(val, "auto") == 0)
			o->readdirplus = OVL_RDP_AUTO;
		else if (strcmp(val, "no") == 0)
			o->readdirplus = OVL_RDP_NO;
		else
			return cmn_err_msg(
				err, EINVAL,
				"option readdirplus: '%s' is not yes, auto or no; write one of them, as in readdirplus=auto",
				val);
		return 0;
	case OPT_REDIR:
		/* Redirects already on disk are always followed: follow and
		 * nofollow only say that renames write none, as off does. */
		if (strcmp(val, "on") == 0)
			o->no_redirect = false;
		else if (strcmp(val, "off") == 0 ||
			 strcmp(val, "follow") == 0 ||
			 strcmp(val, "nofollow") == 0)
			o->no_redirect = true;
		else
			return cmn_err_msg(
				err, EINVAL,
				"option redirect_dir: '%s' is not on, follow, nofollow or off; write one of them, as in redirect_dir=off",
				val);
		return 0;
	case OPT_FUSE_NUM:
		if (!cmn_parse_u64(val, UINT32_MAX, &u))
			return bad_number(d, val, err);
		return add_fuse_opt(o, word);
	case OPT_FUSE:
	case OPT_FUSE_STR:
		return add_fuse_opt(o, word);
	default:
		return 0;
	}
}

static int apply_word(const char *word, struct ovl_opts *o,
		      struct hutch_err *err)
{
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);
	const struct opt_def *d = opt_find(word, len);

	if (!d)
		return cmn_err_msg(
			err, EINVAL,
			"unknown option '%.*s'; see hutch-overlay --help for the options it accepts",
			(int)len, word);
	if (eq && (d->kind == OPT_FLAG || d->kind == OPT_FUSE))
		return cmn_err_msg(err, EINVAL,
				   "option %s takes no value; write just %s",
				   d->name, d->name);
	if (d->kind == OPT_FLAG || (d->kind == OPT_BOOL && !eq)) {
		if (strcmp(d->name, "squash_to_root") == 0) {
			o->squash_uid = 0;
			o->squash_gid = 0;
		} else {
			*(bool *)((char *)o + d->off) = !d->invert;
		}
		return 0;
	}
	if (d->kind == OPT_FUSE || d->kind == OPT_IGNORE)
		return set_value(d, word, eq ? eq + 1 : "", o, err);
	if (!eq)
		return cmn_err_msg(err, EINVAL,
				   "option %s needs a value: write %s=...",
				   d->name, d->name);
	return set_value(d, word, eq + 1, o, err);
}

/* One -o argument: comma-separated words; "\," escapes a comma. */
static int apply_o(const char *arg, struct ovl_opts *o, struct hutch_err *err)
{
	cleanup_free char *word = malloc(strlen(arg) + 1);
	size_t n = 0;

	if (!word)
		return -ENOMEM;
	for (const char *p = arg;; p++) {
		if (*p == '\\' && p[1] == ',') {
			word[n++] = *++p;
			continue;
		}
		if (*p && *p != ',') {
			word[n++] = *p;
			continue;
		}
		word[n] = '\0';
		if (n > 0) {
			int r = apply_word(word, o, err);

			if (r < 0)
				return r;
		}
		n = 0;
		if (!*p)
			return 0;
	}
}

static void opts_defaults(struct ovl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->squash_uid = -1;
	o->squash_gid = -1;
	o->upper_timeout = 86400.0;
	o->lower_timeout = 86400.0;
	o->threads = 8;
	o->ready_fd = -1;
	o->fsync = true;
	o->writeback = false;
	o->readdirplus = OVL_RDP_AUTO;
	/* As the kernel's default (CONFIG_OVERLAY_FS_REDIRECT_DIR=n): an
	 * upper with redirects loses renamed directories' contents where it
	 * is read as a change set (hutch's build steps, a native diff) or by
	 * the kernel in a user namespace (EPERM); redirect_dir=on asks. */
	o->no_redirect = true;
	/* As the kernel's default (CONFIG_OVERLAY_FS_REDIRECT_DIR=n): an
	 * upper with redirects loses renamed directories' contents where it
	 * is read as a change set (hutch's build steps, a native diff) or by
	 * the kernel in a user namespace (EPERM); redirect_dir=on asks. */
	o->no_redirect = true;
	o->splice_write = false;
}

static int take_positional(const char *arg, int *npos, struct ovl_opts *o,
			   struct hutch_err *err)
{
	/* "PROG [SOURCE] MOUNTPOINT": mount(8) helpers pass a source first. */
	if (*npos >= 2)
		return cmn_err_msg(
			err, EINVAL,
			"unexpected argument '%s'; give one mountpoint", arg);
	free(o->mountpoint);
	o->mountpoint = strdup(arg);
	(*npos)++;
	return o->mountpoint ? 0 : -ENOMEM;
}

static int long_opt(const char *arg, const char *next, int *used,
		    struct ovl_opts *o, struct hutch_err *err)
{
	uint64_t u;

	if (strcmp(arg, "--help") == 0) {
		o->help = true;
		return 0;
	}
	if (strcmp(arg, "--version") == 0) {
		o->version = true;
		return 0;
	}
	if (strcmp(arg, "--exit-with-mntns") == 0) {
		o->exit_with_mntns = true;
		return 0;
	}
	if (cmn_has_prefix(arg, "--ready-fd")) {
		const char *v = arg[10] == '=' ? arg + 11 : NULL;

		if (!v && arg[10] == '\0' && next) {
			v = next;
			*used = 1;
		}
		if (!v || !cmn_parse_u64(v, INT_MAX, &u))
			return cmn_err_msg(
				err, EINVAL,
				"--ready-fd needs a descriptor number, e.g. --ready-fd=3");
		o->ready_fd = (int)u;
		return 0;
	}
	return cmn_err_msg(err, EINVAL,
			   "unknown option '%s'; see hutch-overlay --help",
			   arg);
}

static int short_opts(const char *arg, const char *next, int *used,
		      struct ovl_opts *o, struct hutch_err *err)
{
	for (const char *p = arg + 1; *p; p++) {
		switch (*p) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case 's':
			o->single_thread = true;
			break;
		case 'h':
			o->help = true;
			break;
		case 'V':
			o->version = true;
			break;
		case 'o':
			if (p[1])
				return apply_o(p + 1, o, err);
			if (!next)
				return cmn_err_msg(
					err, EINVAL,
					"-o needs an option list, e.g. -o lowerdir=/l,upperdir=/u,workdir=/w");
			*used = 1;
			return apply_o(next, o, err);
		default:
			return cmn_err_msg(
				err, EINVAL,
				"unknown option '-%c'; see hutch-overlay --help",
				*p);
		}
	}
	return 0;
}

int ovl_opts_parse(int argc, char **argv, struct ovl_opts *o,
		   struct hutch_err *err)
{
	int npos = 0;

	opts_defaults(o);
	for (int i = 1; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		int used = 0, r;

		if (cmn_has_prefix(argv[i], "--"))
			r = long_opt(argv[i], next, &used, o, err);
		else if (argv[i][0] == '-' && argv[i][1])
			r = short_opts(argv[i], next, &used, o, err);
		else
			r = take_positional(argv[i], &npos, o, err);
		if (r < 0)
			return r;
		i += used;
	}
	if (o->debug)
		o->foreground = true;
	if (o->help || o->version)
		return 0;
	if (!o->mountpoint)
		return cmn_err_msg(
			err, EINVAL,
			"missing mountpoint; usage: hutch-overlay -o lowerdir=L,upperdir=U,workdir=W MOUNTPOINT");
	if (!o->lowerdirs)
		return cmn_err_msg(
			err, EINVAL,
			"missing lowerdir: give at least one read-only layer with -o lowerdir=DIR[:DIR...]");
	if (cmn_strv_len(o->lowerdirs) > OVL_MAX_LAYERS)
		return cmn_err_msg(
			err, EINVAL,
			"too many lower layers (%zu); at most %d are supported: merge some of them first",
			cmn_strv_len(o->lowerdirs), OVL_MAX_LAYERS);
	if (o->upperdir && !o->workdir)
		return cmn_err_msg(
			err, EINVAL,
			"upperdir needs a workdir: add -o workdir=DIR, an empty directory on the upper's filesystem");
	if (o->workdir && !o->upperdir)
		return cmn_err_msg(
			err, EINVAL,
			"workdir given without upperdir: add -o upperdir=DIR or drop workdir");
	return 0;
}

void ovl_opts_free(struct ovl_opts *o)
{
	cmn_strv_free(o->lowerdirs);
	free(o->upperdir);
	free(o->workdir);
	free(o->mountpoint);
	free(o->fuse_opts);
	memset(o, 0, sizeof(*o));
}
