// SPDX-License-Identifier: Apache-2.0
/* device.c - run's --device: a host node (Docker's HOST[:PATH][:rwm]) */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sandbox/sandbox.h"

/* Docker's HOSTPATH[:CONTAINERPATH][:PERMISSIONS]; a last part that is
 * made of r, w and m is the permissions. */
static int host_device(struct sbx_config *cfg, const char *arg,
		       struct hutch_err *err)
{
	cleanup_free char *s = strdup(arg);
	char *parts[3] = { NULL }, *save = NULL, *p;
	size_t n = 0;
	const char *perms = "rwm", *path = NULL;

	if (!s)
		return -ENOMEM;
	for (p = strtok_r(s, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (n == 3)
			return cmn_err_msg(
				err, EINVAL,
				"--device %s: too many parts; give HOSTPATH[:CONTAINERPATH][:rwm]",
				arg);
		parts[n++] = p;
	}
	if (n == 0)
		return cmn_err_msg(
			err, EINVAL,
			"--device \"%s\": empty; give HOSTPATH[:CONTAINERPATH][:rwm]",
			arg);
	if (n > 1 && parts[n - 1][0] != '/') {
		perms = parts[--n];
		if (!sbx_device_perms_valid(perms))
			return cmn_err_msg(
				err, EINVAL,
				"--device %s: invalid permissions \"%s\"; use r, w and m (e.g. rw)",
				arg, perms);
	}
	if (n == 3)
		return cmn_err_msg(
			err, EINVAL,
			"--device %s: too many parts; give HOSTPATH[:CONTAINERPATH][:rwm]",
			arg);
	if (n == 2)
		path = parts[1];
	return sbx_device_add(cfg, parts[0], path, perms, err);
}

int cli_devices_apply(struct sbx_config *cfg, char *const *devices,
		      struct hutch_err *err)
{
	for (char *const *d = devices; d && *d; d++) {
		int ret = host_device(cfg, *d, err);

		if (ret < 0)
			return ret;
	}
	return 0;
}
