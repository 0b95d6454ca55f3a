// SPDX-License-Identifier: Apache-2.0
/* storage.c - storage drivers: which one makes a container's root, and the
 * calls every driver answers
 *
 * A driver (struct sbx_storage_driver, sandbox-internal.h) is a table of
 * operations in a file of its own: storage-kernel.c (overlayfs mounted by
 * the container's setup child in its user namespace: Linux 5.11+,
 * userxattr, a local filesystem for the upper) and storage-fuse.c
 * (hutch-overlay, started by hutch into the container's namespaces). The
 * list below is the only place that names them all; its order is auto's
 * preference. auto takes the first driver whose probe passes on the
 * upper's filesystem (the last one when none does, so that its own mount
 * error tells the user what is wrong); the verdict is cached in the
 * runtime directory per filesystem and kernel release. A driver that
 * cannot take a container's layers (the kernel's, for an image of more
 * layers than its mount options hold) passes to the next for that
 * container alone.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

static const struct sbx_storage_driver *const drivers[] = {
	&sbx_storage_kernel,
	&sbx_storage_fuse,
};

static const struct sbx_storage_driver *by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (!strcmp(name, drivers[i]->info.name))
			return drivers[i];
	return NULL;
}

int sbx_storage_parse(const char *s, const struct sbx_storage_driver **out,
		      struct hutch_err *err)
{
	const struct sbx_storage_driver *d = by_name(s);

	if (d || !strcmp(s, "auto")) {
		*out = d;
		return 0;
	}
	return cmn_err_msg(
		err, EINVAL,
		"unknown storage driver \"%s\": use auto, kernel (overlayfs) or fuse (hutch-overlay)",
		s);
}

const char *sbx_storage_name(const struct sbx_storage_driver *d)
{
	return d ? d->info.name : "auto";
}

void sbx_storage_describe(const struct sbx_storage_driver *d,
			  struct sbx_storage_info *out)
{
	static const struct sbx_storage_info none = { "auto", "none",
						      "no overlay" };

	*out = d ? d->info : none;
}

void sbx_config_layers(const struct sbx_config *cfg, struct sbx_layers *out)
{
	out->lower_base = cfg->lower_base;
	out->lowers = cfg->lowers;
	out->upper = cfg->upper;
	out->work = cfg->work;
	out->dir_renames = cfg->dir_renames && cfg->upper;
}

void sbx_mount_layers_of(const struct sbx_mount *m, struct sbx_layers *out)
{
	out->lower_base = m->lower_base;
	out->lowers = m->lowers;
	out->upper = m->upper;
	out->work = m->work;
	out->dir_renames = false;
}

/* The cached verdict for the filesystem of @dir on this kernel, in the
 * runtime directory once it is known to be ours. */
static char *cache_path(const char *dir, char *release, size_t size)
{
	cleanup_free char *runtime = cmn_runtime_dir_open(NULL);
	struct utsname u;
	struct stat st;

	if (!runtime || stat(dir, &st) < 0 || uname(&u) < 0)
		return NULL;
	snprintf(release, size, "%s\n", u.release);
	return cmn_strdup_printf("%s/overlay-probe-%llx", runtime,
				 (unsigned long long)st.st_dev);
}

static const struct sbx_storage_driver *probe_all(const char *dir)
{
	for (size_t i = 0; i + 1 < ARRAY_SIZE(drivers); i++) {
		bool works = drivers[i]->probe(dir, NULL) == 0;

		cmn_debug("storage driver %s in %s: %s", drivers[i]->info.name,
			  dir, works ? "works" : "no");
		if (works)
			return drivers[i];
	}
	return drivers[ARRAY_SIZE(drivers) - 1];
}

static const struct sbx_storage_driver *pick(const char *dir)
{
	char release[sizeof(((struct utsname *)0)->release) + 1];
	cleanup_free char *cache = cache_path(dir, release, sizeof(release));
	cleanup_free char *seen =
		cache ? cmn_read_fileat(AT_FDCWD, cache, 256, NULL) : NULL;
	cleanup_free char *tmp = NULL;
	cleanup_free char *text = NULL;
	const struct sbx_storage_driver *d;

	if (seen && cmn_has_prefix(seen, release)) {
		char *name = seen + strlen(release);

		name[strcspn(name, "\n")] = '\0';
		if ((d = by_name(name)))
			return d;
	}
	d = probe_all(dir);
	text = cmn_strdup_printf("%s%s\n", release, d->info.name);
	tmp = cache ? cmn_strdup_printf("%s.%d", cache, (int)getpid()) : NULL;
	/* Best effort: without a cache the next container probes again. */
	if (text && tmp &&
	    cmn_write_fileat(AT_FDCWD, tmp, text, strlen(text), 0600) == 0 &&
	    rename(tmp, cache) < 0)
		unlink(tmp);
	return d;
}

const struct sbx_storage_driver *sbx_storage_default(void)
{
	const char *env = getenv("HUTCH_STORAGE_DRIVER");
	const struct sbx_storage_driver *d = NULL;

	/* The command line checks the variable; here a bad value is auto. */
	if (env && sbx_storage_parse(env, &d, NULL) < 0)
		d = NULL;
	return d;
}

/* auto's driver for @l under @dir: the filesystem's, unless it cannot
 * take these layers (the last driver takes any). */
static const struct sbx_storage_driver *pick_for(const char *dir,
						 const struct sbx_layers *l)
{
	const struct sbx_storage_driver *d = pick(dir);
	size_t i = 0;

	while (i < ARRAY_SIZE(drivers) && drivers[i] != d)
		i++;
	for (; l && i + 1 < ARRAY_SIZE(drivers); i++) {
		if (!drivers[i]->takes || drivers[i]->takes(l))
			return drivers[i];
		cmn_debug("storage driver %s cannot take these layers",
			  drivers[i]->info.name);
	}
	return drivers[ARRAY_SIZE(drivers) - 1];
}

const struct sbx_storage_driver *
sbx_storage_pick(const struct sbx_storage_driver *want, const char *dir,
		 const struct sbx_layers *l)
{
	return want ? want : pick_for(dir, l);
}

const struct sbx_storage_driver *sbx_storage_of(const struct sbx_config *cfg)
{
	cleanup_free char *dir = NULL;
	struct sbx_layers l;
	char *slash;

	if (!cfg->lowers || cfg->storage)
		return cfg->storage;
	sbx_config_layers(cfg, &l);
	/* The upper's parent: the container's directory, on the filesystem
	 * that must take the upper dir's whiteouts and xattrs. */
	dir = strdup(cfg->upper ? cfg->upper : cfg->lower_base);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir)
		*slash = '\0';
	return dir ? pick_for(dir, &l) : drivers[ARRAY_SIZE(drivers) - 1];
}

void sbx_storage_resolve(struct sbx_config *cfg)
{
	cfg->storage = sbx_storage_of(cfg);
}

int sbx_mount_layers(const struct sbx_storage_driver *driver,
		     const struct sbx_layers *l, const char *target,
		     pid_t *daemon, struct hutch_err *err)
{
	int ret = driver->prepare ? driver->prepare(l, err) : 0;

	*daemon = -1;
	return ret < 0 ? ret : driver->mount(l, target, 0, daemon, err);
}

void sbx_unmount_layers(const struct sbx_storage_driver *driver,
			const char *target, pid_t daemon)
{
	driver->unmount(target, daemon);
}
