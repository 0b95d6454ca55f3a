// SPDX-License-Identifier: Apache-2.0
/* config.c - struct sbx_config: defaults and release */

#include <string.h>
#include <sys/resource.h>

#include "sandbox/sandbox-internal.h"

int sbx_config_init(struct sbx_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->caps = sbx_caps_default();
	cfg->no_new_privs = true;
	cfg->userns = SBX_USERNS_AUTO;
	cfg->network = SBX_NET_HOST;
	cfg->storage = sbx_storage_default();
	return cmn_random_hex(cfg->id, 32);
}

void sbx_config_free(struct sbx_config *cfg)
{
	free(cfg->rootfs);
	cmn_strv_free(cfg->argv);
	cmn_strv_free(cfg->env);
	free(cfg->workdir);
	free(cfg->user);
	free(cfg->hostname);
	free(cfg->seccomp_profile);
	cmn_strv_free(cfg->ports);
	cmn_strv_free(cfg->add_hosts);
	free(cfg->lower_base);
	cmn_strv_free(cfg->lowers);
	free(cfg->upper);
	free(cfg->work);
	free(cfg->squashfs);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].src);
		free(cfg->mounts[i].dst);
		free(cfg->mounts[i].data);
		free(cfg->mounts[i].name);
		cmn_strv_free(cfg->mounts[i].labels);
		free(cfg->mounts[i].subpath);
		free(cfg->mounts[i].lower_base);
		cmn_strv_free(cfg->mounts[i].lowers);
		free(cfg->mounts[i].upper);
		free(cfg->mounts[i].work);
	}
	free(cfg->mounts);
	for (size_t i = 0; i < cfg->n_hooks; i++)
		sbx_hook_clear(&cfg->hooks[i]);
	free(cfg->hooks);
	free(cfg->lib_path_first);
	memset(cfg, 0, sizeof(*cfg));
}

/* Docker's --ulimit names, which are ulimit(1)'s and prlimit(1)'s. */
static const char *const rlimit_names[SBX_RLIMITS] = {
	[RLIMIT_CPU] = "cpu",		[RLIMIT_FSIZE] = "fsize",
	[RLIMIT_DATA] = "data",		[RLIMIT_STACK] = "stack",
	[RLIMIT_CORE] = "core",		[RLIMIT_RSS] = "rss",
	[RLIMIT_NPROC] = "nproc",	[RLIMIT_NOFILE] = "nofile",
	[RLIMIT_MEMLOCK] = "memlock",	[RLIMIT_AS] = "as",
	[RLIMIT_LOCKS] = "locks",	[RLIMIT_SIGPENDING] = "sigpending",
	[RLIMIT_MSGQUEUE] = "msgqueue", [RLIMIT_NICE] = "nice",
	[RLIMIT_RTPRIO] = "rtprio",	[RLIMIT_RTTIME] = "rttime",
};

int sbx_rlimit_resource(const char *name)
{
	for (int i = 0; i < SBX_RLIMITS; i++)
		if (rlimit_names[i] && !strcmp(rlimit_names[i], name))
			return i;
	return -1;
}

const char *sbx_rlimit_name(int resource)
{
	return resource >= 0 && resource < SBX_RLIMITS ? rlimit_names[resource]
						       : NULL;
}
