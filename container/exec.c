// SPDX-License-Identifier: Apache-2.0
/* exec.c - `exec`: the configuration of a new process in a running
 * container, Docker's way (the container's own environment, user and
 * working directory unless -e, -u, -w say otherwise); the runtime's
 * sbx_exec() joins its namespaces and runs it.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container/container-internal.h"

/* A deep copy through the record's own JSON form. */
static int copy_config(const struct sbx_config *from, struct sbx_config *to)
{
	json_t *j = ctr_config_json(from);
	int ret = j ? ctr_config_from_json(j, to) : -ENOMEM;

	if (j)
		json_decref(j);
	return ret;
}

static int replace(char **field, const char *value)
{
	if (!value)
		return 0;
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

/* Docker's exec: the container's environment, user and working directory
 * unless -e, -u, -w say otherwise. */
static int exec_config(const struct ctr_container *c,
		       const struct ctr_exec_opts *o, struct sbx_config *cfg)
{
	int ret = copy_config(&c->cfg, cfg);

	if (ret < 0)
		return ret;
	cmn_strv_free(cfg->argv);
	cfg->argv = cmn_strv_dup(o->argv);
	for (char *const *e = o->env; cfg->argv && e && *e && ret == 0; e++)
		ret = cmn_strv_push(&cfg->env, strdup(*e));
	if (ret == 0)
		ret = replace(&cfg->workdir, o->workdir);
	if (ret == 0)
		ret = replace(&cfg->user, o->user);
	cfg->tty = o->tty;
	cfg->interactive = o->interactive;
	return cfg->argv ? ret : -ENOMEM;
}

int ctr_container_exec(const struct ctr_container *c,
		       const struct ctr_exec_opts *o, int *status,
		       struct hutch_err *err)
{
	struct sbx_config cfg;
	int ret;

	*status = 1;
	ret = ctr_refuse_remote(c, "run a command in", err);
	if (ret < 0)
		return ret;
	if (c->status != CTR_RUNNING)
		return cmn_err_msg(
			err, EINVAL,
			"container %s is not running; start it first (hutch start %s)",
			c->name, c->name);
	if (c->restarting)
		return cmn_err_msg(
			err, EAGAIN,
			"container %s is restarting; wait until it runs (hutch ps shows Up), or stop it",
			c->name);
	ret = exec_config(c, o, &cfg);
	if (ret < 0) {
		sbx_config_free(&cfg);
		return cmn_err_set(err, -ret, "exec");
	}
	ret = sbx_exec(&cfg, c->init_pid, status, err);
	sbx_config_free(&cfg);
	return ret;
}
