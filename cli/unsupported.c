// SPDX-License-Identifier: Apache-2.0
/* unsupported.c - Docker's options that hutch knows and does not take,
 * each with why and what to use instead; and "did you mean" for typos
 *
 * A Docker user types Docker's options. An option hutch does not know is
 * either one of Docker's that a rootless, daemonless tool cannot or does not
 * implement, and then the answer says so, why, and what to use, in one
 * line; or a typo, and then the answer names the closest option of the
 * command (by edit distance) when one is close enough. Only an option that
 * is neither gets the bare "unknown option". The table is the list of what
 * hutch leaves out on purpose: keep it beside the option tables.
 */

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* @cmd NULL: run and build alike. */
static const struct cli_unsupported table[] = {
	/* privilege and devices */
	{ "run", "privileged", 0,
	  "a rootless container cannot hold privileges its user does not have",
	  "--cap-add for the capabilities the command needs" },
	{ "run", "device-cgroup-rule", 0,
	  "there is no device cgroup without root", "-v /dev/NAME:/dev/NAME" },
	{ NULL, "sysctl", 0,
	  "hutch sets no sysctl in a container, and a user namespace refuses most",
	  "a command in the container for the namespaced ones it allows" },
	/* namespaces hutch always makes */
	{ "run", "cgroupns", 0, "every container has its own cgroup namespace",
	  "hutch run as it is" },
	{ "run", "domainname", 0, "the NIS domain name is left as it is",
	  "--hostname NAME" },
	/* resource limits: hutch makes no cgroup of its own (most HPC
	 * systems delegate none to users; a Slurm job's limits apply) */
	{ NULL, "memory", 'm', "hutch makes no cgroup of its own to cap memory",
	  "systemd-run --user --scope -p MemoryMax=4G hutch run ..., or Slurm's --mem" },
	{ NULL, "cpus", 0, "hutch makes no cgroup of its own to cap CPU time",
	  "systemd-run --user --scope -p CPUQuota=200% hutch run ..., or Slurm's --cpus-per-task" },
	{ NULL, "cpu-shares", 'c', "hutch makes no cgroup of its own",
	  "Slurm's --cpus-per-task" },
	{ NULL, "cpuset-cpus", 0, "hutch makes no cgroup of its own",
	  "taskset -c LIST hutch run ..., or Slurm's CPU binding" },
	{ NULL, "cpuset-mems", 0, "hutch makes no cgroup of its own",
	  "numactl --membind hutch run ..." },
	{ NULL, "cpu-period", 0, "hutch makes no cgroup of its own",
	  "taskset or Slurm's --cpus-per-task" },
	{ NULL, "cpu-quota", 0, "hutch makes no cgroup of its own",
	  "taskset or Slurm's --cpus-per-task" },
	{ "run", "cpu-rt-period", 0, "real-time scheduling needs privilege",
	  "Slurm's --cpus-per-task" },
	{ "run", "cpu-rt-runtime", 0, "real-time scheduling needs privilege",
	  "Slurm's --cpus-per-task" },
	{ NULL, "memory-swap", 0, "hutch makes no cgroup of its own",
	  "ulimit -v in your shell, or Slurm's --mem" },
	{ "run", "memory-reservation", 0, "hutch makes no cgroup of its own",
	  "ulimit -v in your shell, or Slurm's --mem" },
	{ "run", "memory-swappiness", 0, "hutch makes no cgroup of its own",
	  "ulimit -v in your shell, or Slurm's --mem" },
	{ "run", "kernel-memory", 0,
	  "the kernel no longer accounts it apart (Docker deprecated it)",
	  "Slurm's --mem" },
	{ "run", "oom-kill-disable", 0,
	  "only root may exempt processes from the OOM killer",
	  "Slurm's --mem with room to spare" },
	{ "run", "oom-score-adj", 0, "lowering it needs privilege",
	  "choom in the container to raise it" },
	{ "run", "pids-limit", 0, "hutch makes no cgroup of its own",
	  "--ulimit nproc=N" },
	{ "run", "blkio-weight", 0, "hutch sets no I/O limits",
	  "ionice hutch run ..." },
	{ "run", "blkio-weight-device", 0, "hutch sets no I/O limits",
	  "ionice hutch run ..." },
	{ "run", "device-read-bps", 0, "hutch sets no I/O limits",
	  "ionice hutch run ..." },
	{ "run", "device-write-bps", 0, "hutch sets no I/O limits",
	  "ionice hutch run ..." },
	{ "run", "device-read-iops", 0, "hutch sets no I/O limits",
	  "ionice hutch run ..." },
	{ "run", "device-write-iops", 0, "hutch sets no I/O limits",
	  "ionice hutch run ..." },
	{ NULL, "cgroup-parent", 0, "hutch makes no cgroup of its own",
	  "systemd-run --user --scope ... hutch run ..." },
	/* networking: one private network per container */
	{ "run", "ip", 0,
	  "each container has its own user-mode network, always 10.0.2.100",
	  "-p to publish a port" },
	{ "run", "ip6", 0,
	  "each container has its own user-mode network, always fd00::100",
	  "-p to publish a port" },
	{ "run", "mac-address", 0,
	  "each container has its own user-mode network with a fixed address",
	  "-p to publish a port" },
	{ "run", "link", 0, "containers share no network with each other",
	  "-p on one and 10.0.2.2:HOSTPORT from the other" },
	{ "run", "network-alias", 0,
	  "containers share no network with each other",
	  "-p on one and 10.0.2.2:HOSTPORT from the other" },
	{ "run", "link-local-ip", 0,
	  "containers share no network with each other",
	  "-p to publish a port" },
	{ "run", "dns", 0,
	  "the user-mode network forwards DNS to the host's resolvers",
	  "--network host, or -v FILE:/etc/resolv.conf:ro" },
	{ "run", "dns-search", 0,
	  "the container gets the host's resolv.conf search list",
	  "-v FILE:/etc/resolv.conf:ro" },
	{ "run", "dns-option", 0,
	  "the container gets the host's resolv.conf options",
	  "-v FILE:/etc/resolv.conf:ro" },
	{ "run", "expose", 0,
	  "hutch publishes only ports named with -p, or the image's with -P",
	  "-p PORT" },
	/* no daemon */
	{ "run", "log-driver", 0,
	  "hutch keeps one json-file log per detached container",
	  "hutch logs" },
	{ "run", "log-opt", 0,
	  "hutch keeps one json-file log per detached container",
	  "hutch logs" },
	{ NULL, "runtime", 0, "hutch is its own runtime",
	  "hutch run as it is" },
	{ NULL, "isolation", 0, "that is a Windows option",
	  "hutch run as it is" },
	{ "run", "attach", 'a',
	  "a foreground container always has standard input, output and error",
	  "hutch run without -d" },
	{ "run", "detach-keys", 0, "hutch has no attach to detach from",
	  "hutch run -d and hutch logs -f" },
	{ "run", "sig-proxy", 0,
	  "hutch always forwards signals in the foreground",
	  "hutch run -d, to send none" },
	{ "run", "cidfile", 0, "hutch writes no container id file",
	  "hutch run -d, which prints the id: id=$(hutch run -d ...)" },
	{ NULL, "disable-content-trust", 0,
	  "hutch has no Notary signatures, it checks every blob's sha256",
	  "an image@sha256:DIGEST reference" },
	{ "run", "volume-driver", 0, "hutch has no volume plugins",
	  "-v HOSTPATH:PATH" },
	{ "run", "volumes-from", 0,
	  "hutch has no shared volumes between containers",
	  "-v HOSTPATH:PATH on both" },
	{ "run", "storage-opt", 0, "hutch's storage drivers take no options",
	  "--storage-driver kernel|fuse" },
	{ "run", "quiet", 'q', "hutch prints the pull's progress on stderr",
	  "2>/dev/null" },
	{ "run", "annotation", 0, "hutch keeps no OCI annotations",
	  "--label KEY=VALUE" },
	/* build: BuildKit's and the classic builder's */
	{ "build", "cache-from", 0,
	  "the build cache is local to the store; there is no cache import",
	  "a shared HUTCH_ROOT, or pull the image and build FROM it" },
	{ "build", "cache-to", 0,
	  "the build cache is local to the store; there is no cache export",
	  "a shared HUTCH_ROOT" },
	{ "build", "output", 'o',
	  "build stores the image in hutch's store only",
	  "hutch save -o FILE NAME for an archive, or hutch cp from a container of it for files" },
	{ "build", "push", 0, "build stores the image locally only",
	  "hutch push NAME after the build" },
	{ "build", "squash", 0, "hutch keeps one layer per step",
	  "a multi-stage build with COPY --from" },
	{ "build", "add-host", 0,
	  "RUN steps use the host's network and /etc/hosts",
	  "a RUN step that appends to /etc/hosts" },
	{ "build", "ulimit", 0, "RUN steps inherit your shell's limits",
	  "ulimit in your shell before hutch build" },
	{ "build", "shm-size", 0, "RUN steps get the default /dev/shm",
	  "a RUN step that needs less shared memory" },
	{ "build", "compress", 0, "the context is read in place, not sent",
	  "hutch build as it is" },
	{ "build", "builder", 0, "hutch builds in-process, with no builders",
	  "hutch build as it is" },
	{ "build", "attest", 0, "hutch makes no attestations",
	  "hutch build as it is" },
	{ "build", "sbom", 0, "hutch makes no attestations",
	  "hutch build as it is" },
	{ "build", "provenance", 0, "hutch makes no attestations",
	  "hutch build as it is" },
	{ "build", "metadata-file", 0, "hutch writes no build metadata",
	  "--iidfile FILE for the image id" },
	{ "build", "no-cache-filter", 0,
	  "the cache is used or not for the whole build", "--no-cache" },
	{ "build", "allow", 0, "hutch grants no build entitlements",
	  "hutch build as it is" },
	{ "build", "call", 0, "hutch has no build frontends to call",
	  "hutch build as it is" },
	{ "build", "check", 0, "hutch has no build checks",
	  "hutch build as it is" },
	{ "build", "load", 0, "the image always goes to hutch's store",
	  "hutch build as it is" },
};

const struct cli_unsupported *
cli_unsupported_find(const char *cmd, const char *name, char short_name)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		const struct cli_unsupported *u = &table[i];

		if (u->cmd ? strcmp(u->cmd, cmd) != 0
			   : strcmp(cmd, "run") && strcmp(cmd, "build"))
			continue;
		if (name ? !strcmp(u->name, name)
			 : short_name && u->short_name == short_name)
			return u;
	}
	return NULL;
}

size_t cli_unsupported_list(const struct cli_unsupported **out)
{
	*out = table;
	return ARRAY_SIZE(table);
}

/* Levenshtein's distance, two rows; names are short. */
size_t cli_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[2][64];

	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = row[i & 1], *prev = row[(i - 1) & 1];

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
		}
	}
	return row[la & 1][lb];
}

const char *cli_suggest(const struct cli_opt *opts, size_t n, const char *name)
{
	/* Close enough to be a typo: 1 edit for short names, 2 for longer,
	 * and never more than a third of the name. */
	size_t len = strlen(name), limit = len <= 4 ? 1 : len < 9 ? 2 : 3;
	const char *best = NULL;
	size_t best_d = limit + 1;

	for (size_t i = 0; i < n; i++) {
		size_t d = cli_edit_distance(name, opts[i].name);

		if (d < best_d) {
			best_d = d;
			best = opts[i].name;
		}
	}
	return best;
}
