// SPDX-License-Identifier: Apache-2.0
/* devices.c - device nodes in a rootless container: binds of the host's
 *
 * A user namespace cannot mknod(2) a device, so a device reaches a
 * container the only way it can: the host's node is bound onto a file of
 * the container's /dev (a tmpfs, set up before any user mount). The bind
 * keeps the node's superblock, so opening it works where the caller may
 * open the host's node, and nowhere else. Docker's device cgroup (the
 * "rwm" of --device) has no rootless counterpart: the node's own host
 * modes and ACLs are the only access control, so "rwm" is checked against
 * what the caller may open now and enforced by nothing more.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

int sbx_config_add_bind(struct sbx_config *cfg, const char *src,
			const char *dst, bool read_only, bool recursive)
{
	struct sbx_mount *m =
		realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof(*m));

	if (!m)
		return -ENOMEM;
	cfg->mounts = m;
	m = &cfg->mounts[cfg->n_mounts];
	memset(m, 0, sizeof(*m));
	m->kind = SBX_MOUNT_BIND;
	m->src = strdup(src);
	m->dst = strdup(dst);
	m->read_only = read_only;
	m->non_recursive = !recursive;
	if (!m->src || !m->dst) {
		free(m->src);
		free(m->dst);
		return -ENOMEM;
	}
	cfg->n_mounts++;
	return 0;
}

bool sbx_device_perms_valid(const char *perms)
{
	if (!perms || !*perms || strlen(perms) > 3)
		return false;
	for (const char *p = perms; *p; p++)
		if (!strchr("rwm", *p) || strchr(p + 1, *p))
			return false;
	return true;
}

int sbx_device_check(const char *host, const char *perms, struct hutch_err *err)
{
	struct stat st;
	int mode = 0;

	if (host[0] != '/')
		return cmn_err_msg(
			err, EINVAL,
			"device %s: not an absolute path; give the host's node as /dev/NAME",
			host);
	if (stat(host, &st) < 0)
		return cmn_err_msg(
			err, errno,
			"device %s: %s; check the path, and that the driver is loaded",
			host, strerror(errno));
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return cmn_err_msg(
			err, ENODEV,
			"device %s is not a device node (a %s); give a character or block device, or bind files with -v",
			host, S_ISDIR(st.st_mode) ? "directory" : "file");
	if (perms && strchr(perms, 'r'))
		mode |= R_OK;
	if (perms && strchr(perms, 'w'))
		mode |= W_OK;
	if (mode && access(host, mode) < 0)
		return cmn_err_msg(
			err, errno,
			"device %s: %s for \"%s\"; a rootless container opens a device only as you may on the host (ask for its group, or use fewer permissions)",
			host, strerror(errno), perms);
	return 0;
}

int sbx_device_add(struct sbx_config *cfg, const char *host, const char *path,
		   const char *perms, struct hutch_err *err)
{
	int ret;

	if (!path)
		path = host;
	if (path[0] != '/')
		return cmn_err_msg(
			err, EINVAL,
			"device %s: the container path \"%s\" is not absolute; give /dev/NAME",
			host, path);
	ret = sbx_device_check(host, perms, err);
	if (ret < 0)
		return ret;
	ret = sbx_config_add_bind(cfg, host, path, false, false);
	return ret < 0 ? cmn_err_set(err, -ret, "device %s", host) : 0;
}
