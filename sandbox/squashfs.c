// SPDX-License-Identifier: Apache-2.0
/* squashfs.c - a container's image served from one .sqsh file
 *
 * A container of `hutch run IMG.sqsh` has one lower directory, the mount
 * point of the file, and its upper above it as any image container's:
 * hutch starts hutch-squashfs (squashfs/mount.c) once the setup child's
 * id maps are written, in the child's user and mount namespaces, as it
 * starts hutch-overlay (storage-fuse.c), and the child mounts its root
 * only after this mount is there (start_child() sends "go" after it). The
 * daemon leaves the mount namespace once mounted, so the mount, and the
 * daemon with it, end with the container; no file of the image is
 * unpacked. The file's digest is checked once per unchanged file: the
 * daemon keeps what it verified in $HUTCH_ROOT/squashfs-verified
 * (squashfs/verified.c).
 */

#include <errno.h>

#include "sandbox/sandbox-internal.h"

int sbx_squashfs_mount(const struct sbx_config *cfg, pid_t join, pid_t *daemon,
		       struct hutch_err *err)
{
	cleanup_free char *path = NULL;
	cleanup_free char *mnt = NULL;
	cleanup_free char *store = cmn_store_dir();
	cleanup_free char *cache = NULL;
	char *argv[8];
	int n = 0, ret;

	*daemon = -1;
	if (!cfg->lower_base || !cfg->lowers || !cfg->lowers[0])
		return cmn_err_msg(
			err, EINVAL,
			"the container of %s has no mount point for it",
			cfg->squashfs);
	ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs", &path, err);
	if (ret < 0) {
		cmn_err_prefix(err, "cannot mount %s", cfg->squashfs);
		return ret;
	}
	mnt = cmn_strdup_printf("%s/%s", cfg->lower_base, cfg->lowers[0]);
	/* Without a store (no HOME) every start verifies the whole file. */
	if (store)
		cache = cmn_strdup_printf(
			"--verified-cache=%s/squashfs-verified", store);
	if (!mnt || (store && !cache))
		return cmn_err_set(err, ENOMEM, "squashfs");
	argv[n++] = path;
	argv[n++] = "mount";
	argv[n++] = "--ready-fd=3";
	argv[n++] = "--exit-with-mntns";
	if (cache)
		argv[n++] = cache;
	argv[n++] = cfg->squashfs;
	argv[n++] = mnt;
	argv[n] = NULL;
	/* No deadline: the first start of a file reads it whole for its
	 * digest (minutes for a large image on a slow shared filesystem), and
	 * the other first starts of it wait for that one (verified.c). */
	return sbx_fuse_daemon(argv, "/", join, cfg->squashfs, NULL, -1, daemon,
			       err);
}
