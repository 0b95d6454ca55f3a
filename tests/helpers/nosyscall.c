// SPDX-License-Identifier: Apache-2.0
/* nosyscall.c - a test helper that runs a command on what looks, to it, like
 * an older kernel: "nosyscall NAME[,NAME...] CMD [ARG...]" makes the named
 * system calls fail with ENOSYS (as where the kernel lacks them) for CMD
 * and everything it starts, then execs CMD.
 *
 * A seccomp filter needs no_new_privs, so a setuid program run under it
 * (newuidmap) gains nothing: use it for hutch in the single id mapping.
 */

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char names[1024], *save = NULL;
	scmp_filter_ctx ctx;

	if (argc < 3) {
		fprintf(stderr,
			"usage: nosyscall NAME[,NAME...] CMD [ARG...]\n");
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	snprintf(names, sizeof(names), "%s", argv[1]);
	for (char *n = strtok_r(names, ",", &save); ctx && n;
	     n = strtok_r(NULL, ",", &save)) {
		int nr = seccomp_syscall_resolve_name(n);

		if (nr == __NR_SCMP_ERROR ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0) < 0) {
			fprintf(stderr, "nosyscall: cannot filter %s\n", n);
			return 2;
		}
	}
	if (!ctx || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    seccomp_load(ctx) < 0) {
		perror("nosyscall: seccomp");
		return 2;
	}
	seccomp_release(ctx);
	execvp(argv[2], argv + 2);
	fprintf(stderr, "nosyscall: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
