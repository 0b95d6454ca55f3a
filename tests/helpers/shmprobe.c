// SPDX-License-Identifier: Apache-2.0
/* shmprobe.c - a static test helper copied into test root filesystems: what
 * one process of a container can see of another's shared memory.
 *   shmprobe sysv-make KEY    make a SysV segment (4 KiB) holding "hutch"
 *   shmprobe sysv-see KEY     print what segment KEY holds, or its errno
 *   shmprobe sysv-rm KEY      remove segment KEY
 *   shmprobe cma-serve FILE FIFO  write "PID ADDR" of a buffer holding
 *                             "hutch" to FILE, then wait (30 s at most)
 *                             until someone opens FIFO for writing
 *   shmprobe cma-read PID ADDR  process_vm_readv 5 bytes; print them or
 *                             the errno name
 * Exit 0 on success, 1 with the errno name on stdout otherwise.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/uio.h>
#include <unistd.h>

static int fail(void)
{
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return 1;
}

static int sysv(const char *mode, key_t key)
{
	int id = shmget(key, 4096,
			!strcmp(mode, "sysv-make") ? IPC_CREAT | IPC_EXCL | 0600
						   : 0);
	char *p;

	if (id < 0)
		return fail();
	if (!strcmp(mode, "sysv-rm"))
		return shmctl(id, IPC_RMID, NULL) < 0 ? fail() : 0;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return fail();
	if (!strcmp(mode, "sysv-make"))
		strcpy(p, "hutch");
	else
		printf("%s\n", p);
	return 0;
}

static int serve(const char *file, const char *fifo)
{
	static char buf[] = "hutch";
	FILE *f = fopen(file, "w");
	int fd;

	if (!f)
		return fail();
	fprintf(f, "%d %p\n", (int)getpid(), (void *)buf);
	if (fclose(f) != 0)
		return fail();
	alarm(30);
	fd = open(fifo, O_RDONLY);
	if (fd < 0)
		return fail();
	while (read(fd, buf, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static int cma_read(const char *pid, const char *addr)
{
	char buf[6] = "";
	struct iovec local = { buf, 5 };
	struct iovec remote = { (void *)strtoul(addr, NULL, 16), 5 };

	if (process_vm_readv(atoi(pid), &local, 1, &remote, 1, 0) != 5)
		return fail();
	printf("%s\n", buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strncmp(argv[1], "sysv-", 5))
		return sysv(argv[1], (key_t)strtol(argv[2], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "cma-serve"))
		return serve(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "cma-read"))
		return cma_read(argv[2], argv[3]);
	fprintf(stderr,
		"usage: shmprobe sysv-make|sysv-see|sysv-rm KEY | cma-serve FILE FIFO | cma-read PID ADDR\n");
	return 2;
}
