// SPDX-License-Identifier: Apache-2.0
/* sysprobe.c - a static test helper copied into test root filesystems: it
 * makes one system call and says whether the kernel (or the seccomp filter)
 * allowed it. "sysprobe NAME" prints "ok" and exits 0, or prints the errno
 * name and exits 1.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long probe(const char *name)
{
	if (!strcmp(name, "getpid"))
		return syscall(SYS_getpid);
	if (!strcmp(name, "keyctl")) /* KEYCTL_GET_KEYRING_ID, session */
		return syscall(SYS_keyctl, 0, -3, 0);
	if (!strcmp(name, "add_key"))
		return syscall(SYS_add_key, "user", "k", "v", 1, -3);
	if (!strcmp(name, "unshare-user"))
		return unshare(CLONE_NEWUSER);
	if (!strcmp(name, "unshare-ns"))
		return unshare(CLONE_NEWNS);
	if (!strcmp(name, "mount"))
		return mount("none", "/tmp", "tmpfs", 0, NULL);
	if (!strcmp(name, "bpf"))
		return syscall(SYS_bpf, 0, NULL, 0);
	if (!strcmp(name, "userfaultfd"))
		return syscall(SYS_userfaultfd, 0);
	if (!strcmp(name, "perf_event_open"))
		return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (!strcmp(name, "kexec_load"))
		return syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (!strcmp(name, "init_module"))
		return syscall(SYS_init_module, NULL, 0, "");
	if (!strcmp(name, "open_by_handle_at"))
		return syscall(SYS_open_by_handle_at, -1, NULL, 0);
	if (!strcmp(name, "clone3"))
		return syscall(SYS_clone3, NULL, 0);
	if (!strcmp(name, "mkdir"))
		return mkdir("/tmp/sysprobe-dir", 0755);
	if (!strcmp(name, "chroot"))
		return chroot("/");
	errno = ENOSYS;
	fprintf(stderr, "sysprobe: unknown probe %s\n", name);
	return -2;
}

int main(int argc, char **argv)
{
	long r;

	if (argc != 2) {
		fprintf(stderr, "usage: sysprobe SYSCALL\n");
		return 2;
	}
	errno = 0;
	r = probe(argv[1]);
	if (r == -2)
		return 2;
	if (r < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
