// SPDX-License-Identifier: Apache-2.0
/* local.c - a container's changes on node-local disk when the store is on
 * a shared filesystem
 *
 * NFS, Lustre and GPFS make poor upper directories: every write, copy-up
 * and whiteout of the container is a metadata round trip to a server that
 * all jobs share, and most of them take no user xattrs. So a container of
 * such a store keeps its upper, work and mount-point directories in
 * cmn_local_dir() ($TMPDIR/hutch-$UID/local/<store hash>/<id>) on the host
 * that made it, and only its record (config, state, log, running.json)
 * stays in the store, where `ps`, `logs` and `inspect` of any node find it.
 *
 * The record names the directory and its host. A runner checks both: a
 * container made on another host, or whose directory went with a job's
 * TMPDIR, is refused in one line rather than started on an empty upper.
 * Removal takes the directory when it is on this host; `system prune`
 * takes the ones of this store whose record is gone (a kill between the
 * two, an `rm` from another host).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-internal.h"

int ctr_local_claim(struct ctr_container *c, const char *store,
		    struct hutch_err *err)
{
	cleanup_free char *base = NULL;
	char host[256];

	if (!sbx_fs_shared(store, NULL))
		return 0;
	base = cmn_local_dir_open(store, err);
	if (!base)
		return err && err->code ? -err->code : -EIO;
	ctr_host_name(host);
	free(c->local_dir);
	free(c->local_host);
	c->local_dir = cmn_strdup_printf("%s/%s", base, c->cfg.id);
	c->local_host = strdup(host);
	if (!c->local_dir || !c->local_host)
		return cmn_err_set(err, ENOMEM, "container");
	return 0;
}

int ctr_local_check(const struct ctr_container *c, struct hutch_err *err)
{
	char host[256];
	struct stat st;

	if (!c->local_dir)
		return 0;
	ctr_host_name(host);
	if (c->local_host && strcmp(c->local_host, host))
		return cmn_err_msg(
			err, EREMOTE,
			"container %s keeps its changes on the local disk of %s (%s): start it there, or remove it (hutch rm %s) and run a new one",
			c->name, c->local_host, c->local_dir, c->name);
	if (!c->cfg.upper || stat(c->cfg.upper, &st) < 0)
		return cmn_err_msg(
			err, ENOENT,
			"container %s kept its changes in %s, which is gone (a job's TMPDIR is removed when the job ends): remove it (hutch rm %s) and run a new one",
			c->name, c->local_dir, c->name);
	return 0;
}

void ctr_local_remove(const struct ctr_container *c)
{
	struct hutch_err err = { 0 };
	char host[256];

	if (!c->local_dir)
		return;
	ctr_host_name(host);
	if (c->local_host && strcmp(c->local_host, host)) {
		cmn_warn(
			"container %s's changes stay on the local disk of %s (%s); 'hutch system prune' there removes them",
			c->name, c->local_host, c->local_dir);
		return;
	}
	if (sbx_remove_tree(c->local_dir, &err) < 0 && err.code != ENOENT)
		cmn_warn("%s", err.msg);
}

size_t ctr_local_sweep(void)
{
	cleanup_free char *store = cmn_store_dir();
	cleanup_free char *base = store ? cmn_local_dir(store) : NULL;
	cleanup_free char *records =
		store ? cmn_strdup_printf("%s/containers", store) : NULL;
	cleanup_dir DIR *d = base ? opendir(base) : NULL;
	struct dirent *de;
	size_t n = 0;

	if (!d || !records)
		return 0;
	while ((de = readdir(d))) {
		cleanup_free char *rec = NULL;
		cleanup_free char *dir = NULL;
		struct stat st;
		int lock;

		if (!ctr_is_id(de->d_name))
			continue;
		rec = cmn_strdup_printf("%s/%s", records, de->d_name);
		if (!rec || stat(rec, &st) == 0 || errno != ENOENT)
			continue;
		/* A container being made holds its lock from before either
		 * directory exists. */
		lock = ctr_lock_idle(de->d_name);
		if (lock == -EBUSY)
			continue;
		dir = cmn_strdup_printf("%s/%s", base, de->d_name);
		if (dir && sbx_remove_tree(dir, NULL) == 0)
			n++;
		if (lock >= 0)
			close(lock);
	}
	return n;
}
