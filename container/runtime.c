// SPDX-License-Identifier: Apache-2.0
/* runtime.c - where a container's running state lives, whatever the
 * environment of the command that asks
 *
 * Theory of operation. A running container's state (state.json), its
 * runner's lock (monitor.lock) and its stop mark live in a runtime
 * directory: $HUTCH_RUNTIME, else $XDG_RUNTIME_DIR/hutch, else
 * $TMPDIR/hutch-UID, else /tmp/hutch-UID (common/dirs.c). Which one that is
 * depends on the environment, and on a cluster the environment of two
 * commands differs: a login shell exports XDG_RUNTIME_DIR, a batch job has
 * none or a TMPDIR of its own, srun passes what the submitting shell had.
 * A command that looked only in its own runtime directory would take a
 * running container for one that never started, and `stop` or `rm -f`
 * would do nothing to it.
 *
 * So whoever takes a container's lock also writes where it took it into
 * the store, beside the record: running.json names the host, its boot (the
 * kernel's boot_id), the directory, and the Slurm job when there is one.
 * Every command finds a container's runtime directory through that file
 * first, and through its own environment only when the file is missing, or
 * names this host's previous boot (the runtime directory went with the
 * reboot). A file naming another host means the container runs, or ran,
 * there: only that host can see its lock, so the commands that act on it
 * refuse and name the host, unless the Slurm job it ran in is over.
 *
 * When the runner is done with a container (its last exit, or removal) it
 * retires the directory while it still holds the lock: the state, the stop
 * mark, the lock file, the directory and running.json go, so nothing
 * accumulates. Whoever takes the lock checks afterwards that the file it
 * locked is still the one at the path, and retries otherwise, so a lock is
 * never taken on a file that was just retired.
 */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container-internal.h"

/* The files a runtime directory holds, all removed when it is retired. */
static const char *const runtime_files[] = { "state.json", "stop-requested",
					     "monitor.lock" };

static void read_boot_id(char boot[static 64])
{
	cleanup_free char *text = cmn_read_fileat(
		AT_FDCWD, "/proc/sys/kernel/random/boot_id", 63, NULL);

	snprintf(boot, 64, "%s", text ? text : "");
	boot[strcspn(boot, "\n")] = '\0';
}

void ctr_host_name(char host[static 256])
{
	if (gethostname(host, 256) < 0)
		host[0] = '\0';
	host[255] = '\0';
}

static char *pointer_path(const char *id)
{
	cleanup_free char *dir = ctr_container_dir(id);

	return dir ? cmn_strdup_printf("%s/running.json", dir) : NULL;
}

int ctr_where_read(const char *id, struct ctr_where *w)
{
	cleanup_free char *path = pointer_path(id);
	cleanup_json json_t *j =
		path ? cmn_json_load(AT_FDCWD, path, "the container's location",
				     CTR_JSON_MAX, 0, NULL)
		     : NULL;
	const char *host = json_string_value(json_object_get(j, "Host"));
	const char *boot = json_string_value(json_object_get(j, "BootId"));
	const char *dir = json_string_value(json_object_get(j, "Dir"));
	const char *job = json_string_value(json_object_get(j, "Job"));
	json_int_t started =
		json_integer_value(json_object_get(j, "StartedAt"));
	char here[256], now[64];

	memset(w, 0, sizeof(*w));
	if (!host || !boot || !dir || *dir != '/')
		return -ENOENT;
	snprintf(w->host, sizeof(w->host), "%s", host);
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	snprintf(w->job, sizeof(w->job), "%s", job ? job : "");
	w->started_at = started;
	ctr_host_name(here);
	read_boot_id(now);
	if (strcmp(host, here) != 0)
		w->kind = CTR_WHERE_REMOTE;
	else if (strcmp(boot, now) != 0)
		w->kind = CTR_WHERE_BEFORE_BOOT;
	else
		w->kind = CTR_WHERE_HERE;
	return 0;
}

/* The runtime directory the environment gives this command. */
static char *env_runtime_dir(const char *id, struct hutch_err *err)
{
	cleanup_free char *rt = cmn_runtime_dir_open(err);
	char *dir;

	if (!rt)
		return NULL;
	dir = cmn_strdup_printf("%s/containers/%s", rt, id);
	if (dir && cmn_mkdir_p(dir, 0700) < 0) {
		cmn_err_set(err, errno, "cannot create %s", dir);
		free(dir);
		return NULL;
	}
	return dir;
}

/* The directory running.json names, when it is on this host and boot and
 * still there; never created anew: one that is gone went with its runner's
 * TMPDIR, and the environment's is as good. */
static char *published_dir(const char *id)
{
	struct ctr_where w;
	struct stat st;

	if (ctr_where_read(id, &w) == 0 && w.kind == CTR_WHERE_HERE &&
	    lstat(w.dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == getuid())
		return strdup(w.dir);
	return NULL;
}

char *ctr_runtime_dir(const char *id, struct hutch_err *err)
{
	char *dir = published_dir(id);

	return dir ? dir : env_runtime_dir(id, err);
}

char *ctr_runtime_file(const char *id, const char *name)
{
	cleanup_free char *dir = published_dir(id);
	cleanup_free char *rt = dir ? NULL : cmn_runtime_dir();

	if (dir)
		return cmn_strdup_printf("%s/%s", dir, name);
	return rt ? cmn_strdup_printf("%s/containers/%s/%s", rt, id, name)
		  : NULL;
}

int ctr_where_publish(const char *id, const char *dir)
{
	cleanup_free char *path = pointer_path(id);
	cleanup_free char *cdir = ctr_container_dir(id);
	const char *job = getenv("SLURM_JOB_ID");
	char host[256], boot[64];
	json_t *j;
	int ret;

	if (!path || !cdir)
		return -ENOMEM;
	if (access(cdir, F_OK) < 0)
		return -errno; /* no record yet: published once there is */
	ctr_host_name(host);
	read_boot_id(boot);
	j = json_pack("{s:s,s:s,s:s,s:s}", "Host", host, "BootId", boot, "Dir",
		      dir, "Job", job ? job : "");
	ret = j ? ctr_write_json(path, j, false) : -ENOMEM;
	if (j)
		json_decref(j);
	return ret;
}

void ctr_where_started(const char *id, int64_t when)
{
	cleanup_free char *path = pointer_path(id);
	cleanup_json json_t *j =
		path ? cmn_json_load(AT_FDCWD, path, "the container's location",
				     CTR_JSON_MAX, 0, NULL)
		     : NULL;

	if (j && json_object_set_new(j, "StartedAt",
				     json_integer((json_int_t)when)) == 0)
		ctr_write_json(path, j, false);
}

void ctr_runtime_retire(const char *id)
{
	cleanup_free char *path = pointer_path(id);
	cleanup_free char *dir = published_dir(id);
	cleanup_free char *rt = dir ? NULL : cmn_runtime_dir();

	if (!dir && rt)
		dir = cmn_strdup_printf("%s/containers/%s", rt, id);
	for (size_t i = 0; dir && i < ARRAY_SIZE(runtime_files); i++) {
		cleanup_free char *f =
			cmn_strdup_printf("%s/%s", dir, runtime_files[i]);

		if (f)
			unlink(f);
	}
	if (dir)
		rmdir(dir);
	if (path)
		unlink(path);
}

bool ctr_job_over(const char *job)
{
	char *argv[] = { "squeue", "-h", "-j", (char *)job, "-o", "%T", NULL };
	char out[256] = "";
	int fds[2], ws;
	ssize_t n;
	pid_t pid;

	if (!*job || pipe2(fds, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	n = pid > 0 ? cmn_read_all(fds[0], out, sizeof(out) - 1) : -1;
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &ws, 0) < 0)
		return false;
	/* squeue answers a job it has forgotten with "Invalid job id", a
	 * finished one with nothing or a final state. Any other failure (no
	 * squeue on this host, the controller out of reach) proves nothing:
	 * the container may still run there. */
	out[n > 0 ? n : 0] = '\0';
	if (!WIFEXITED(ws))
		return false;
	if (WEXITSTATUS(ws) != 0)
		return strstr(out, "Invalid job id") != NULL;
	return !*out || strstr(out, "COMPLETED") || strstr(out, "CANCELLED") ||
	       strstr(out, "FAILED") || strstr(out, "TIMEOUT") ||
	       strstr(out, "NODE_FAIL") || strstr(out, "PREEMPTED") ||
	       strstr(out, "OUT_OF_MEMORY");
}
