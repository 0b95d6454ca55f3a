// SPDX-License-Identifier: Apache-2.0
/* test_seccomp.c - unit tests for sandbox/seccomp.c: the default profile,
 * Docker-format profiles and their errors, against the real kernel
 *
 * Two kinds of check. Forked children load the compiled program with the
 * kernel and report what system calls returned, next to an unfiltered child
 * making the same calls, so that a refusal the kernel would have made anyway
 * does not pass for the filter's. And a small classic-BPF interpreter runs
 * the very program the kernel gets on chosen (architecture, system call,
 * argument) triples, which reaches what a test cannot safely do for real:
 * 32-bit architectures, capabilities the test user lacks, every persona.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

#define CAP(c) (1ULL << (c))

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* Docker's default capabilities. */
static const uint64_t docker_caps =
	CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) |
	CAP(CAP_FOWNER) | CAP(CAP_MKNOD) | CAP(CAP_NET_RAW) | CAP(CAP_SETGID) |
	CAP(CAP_SETUID) | CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) |
	CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) |
	CAP(CAP_AUDIT_WRITE);

/* ---- helpers ------------------------------------------------------------ */

static const char *fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *tests = getenv("HUTCH_TESTS");
	char exe[PATH_MAX];
	ssize_t n;

	if (tests) {
		snprintf(path, sizeof(path), "%s/unit/fixtures/seccomp/%s",
			 tests, name);
		return path;
	}
	/* BUILD/tests/test_seccomp -> the tree's tests/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../../tests/unit/fixtures/seccomp/%s",
		 dirname(exe), name);
	return path;
}

static void compile_ok(const char *profile, uint64_t caps, struct sbx_bpf *bpf)
{
	struct hutch_err err = { 0 };
	int ret = sbx_seccomp_compile(profile, caps, bpf, &err);

	if (ret != 0)
		fail_msg("compile %s: %d: %s", profile ? profile : "default",
			 ret, err.msg);
	assert_non_null(bpf->insns);
	assert_true(bpf->len > 0 && bpf->len <= BPF_MAXINSNS);
}

/* Is a seccomp filter already on us (a CI runner inside a container)? */
static bool already_filtered(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0;
}

/* ---- a classic BPF interpreter for seccomp programs --------------------- */

/* Run @bpf on one system call as the kernel would; the SECCOMP_RET_ value. */
static uint32_t bpf_run(const struct sbx_bpf *bpf, uint32_t arch, int nr,
			uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .nr = nr, .arch = arch };
	uint32_t acc = 0;

	d.args[0] = a0;
	d.args[1] = a1;
	for (size_t pc = 0; pc < bpf->len; pc++) {
		const struct sock_filter *f = &bpf->insns[pc];

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k + 4 <= sizeof(d));
			memcpy(&acc, (const char *)&d + f->k, 4);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			acc &= f->k;
			break;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += acc == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += acc > f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += acc >= f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += acc & f->k ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("BPF opcode %#x at %zu: teach bpf_run()",
				 f->code, pc);
		}
	}
	fail_msg("the program fell off its end");
	return 0;
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (uint32_t)(e))

/* What the program says about @name(@a0, @a1) on @arch; -1: no such call. */
static int64_t decide(const struct sbx_bpf *bpf, uint32_t arch,
		      const char *name, uint64_t a0, uint64_t a1)
{
	int nr = seccomp_syscall_resolve_name_arch(arch, name);

	if (nr < 0)
		return -1;
	/* x32 shares x86_64's token; its numbers carry bit 30 instead. */
	if (arch == SCMP_ARCH_X32)
		arch = AUDIT_ARCH_X86_64;
	return bpf_run(bpf, arch, nr, a0, a1);
}

/* The architectures hutch's default filter must cover on this machine. */
static const uint32_t *test_arches(size_t *n)
{
#if defined(__x86_64__)
	static const uint32_t a[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86,
				      SCMP_ARCH_X32 };
#elif defined(__aarch64__)
	static const uint32_t a[] = { SCMP_ARCH_AARCH64, SCMP_ARCH_ARM };
#else
	static const uint32_t a[] = { SCMP_ARCH_NATIVE };
#endif
	*n = ARRAY_SIZE(a);
	return a;
}

/* ---- forked children ---------------------------------------------------- */

#define MAX_PROBES 24

/* A system call made in a child: 0 or a positive result, or -errno. */
struct probe {
	const char *what;
	long (*call)(void);
};

static long ret_errno(long r)
{
	return r < 0 ? -errno : r;
}

/*
 * Fork; in the child set no_new_privs, load @bpf unless NULL, run @probes
 * and send their results back. Return: true with @res filled, false when
 * the child died (killed by the filter, say).
 */
static bool run_probes(const struct sbx_bpf *bpf, const struct probe *probes,
		       size_t n, long *res)
{
	int fds[2];
	pid_t pid;
	int status;
	ssize_t got;

	assert_true(n <= MAX_PROBES);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL,
					     SIGFPE,  SIGSYS, SIGABRT };
		long out[MAX_PROBES];

		/* cmocka's handlers would carry on with the suite in here */
		for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
			signal(fatal[i], SIG_DFL);
		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(90);
		if (bpf && sbx_seccomp_apply(bpf) < 0)
			_exit(91);
		for (size_t i = 0; i < n; i++)
			out[i] = probes[i].call();
		_exit(write(fds[1], out, n * sizeof(long)) ==
				      (ssize_t)(n * sizeof(long))
			      ? 0
			      : 92);
	}
	close(fds[1]);
	got = read(fds[0], res, n * sizeof(long));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return false;
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(got, (ssize_t)(n * sizeof(long)));
	return true;
}

static long p_getpid(void)
{
	return syscall(SYS_getpid) == getpid() ? 0 : -EIO;
}

static long p_file_io(void)
{
	char c = 'x';
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -errno;
	r = write(fd, &c, 1) == 1 && read(fd, &c, 1) == 0 ? 0 : -errno;
	close(fd);
	return r;
}

/* fork() is clone() without namespace flags. */
static long p_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(7);
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : -EIO;
}

static void *thread_main(void *arg)
{
	return arg;
}

/* glibc tries clone3 first and must fall back to clone on ENOSYS. */
static long p_thread(void)
{
	pthread_t t;
	void *out = NULL;
	int e = pthread_create(&t, NULL, thread_main, (void *)42);

	if (e)
		return -e;
	pthread_join(t, &out);
	return out == (void *)42 ? 0 : -EIO;
}

static long p_keyctl(void)
{
	/* An unknown command: EOPNOTSUPP when the kernel gets it. */
	return ret_errno(syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0));
}

static long p_add_key(void)
{
	return ret_errno(syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
}

static long p_bpf(void)
{
	return ret_errno(syscall(SYS_bpf, -1, NULL, 0));
}

static long p_unshare_user(void)
{
	return ret_errno(syscall(SYS_unshare, CLONE_NEWUSER));
}

static long p_mount(void)
{
	/* EFAULT from the kernel: the target is looked up first. */
	return ret_errno(syscall(SYS_mount, NULL, NULL, NULL, 0, NULL));
}

static long p_perf(void)
{
	return ret_errno(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
}

static long p_userfaultfd(void)
{
	long r = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* user mode */);

	if (r >= 0)
		close((int)r);
	return ret_errno(r < 0 ? r : 0);
}

static long p_kexec(void)
{
	return ret_errno(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead));
}

static long p_init_module(void)
{
	return ret_errno(syscall(SYS_init_module, NULL, 0, ""));
}

static long p_open_by_handle(void)
{
	return ret_errno(syscall(SYS_open_by_handle_at, -1, NULL, 0));
}

static long p_clone3(void)
{
	/* EINVAL from the kernel: a zero size is too small. */
	return ret_errno(syscall(SYS_clone3, NULL, 0));
}

/* ---- the default profile ------------------------------------------------ */

static void default_compiles_all_arches(void **state)
{
	struct sbx_bpf bpf = { 0 };
	bool native = false;
	size_t n;
	const uint32_t *arches = test_arches(&n);

	(void)state;
	compile_ok(NULL, docker_caps, &bpf);
	/* Every architecture's token is tested by the program. */
	for (size_t a = 0; a < n; a++) {
		uint32_t token = arches[a] == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64
							    : arches[a];
		bool seen = false;

		for (size_t i = 0; i < bpf.len; i++)
			if (bpf.insns[i].code == (BPF_JMP | BPF_JEQ | BPF_K) &&
			    bpf.insns[i].k == token)
				seen = true;
		assert_true(seen);
		native = native || arches[a] == seccomp_arch_native();
	}
	assert_true(native);
	/* An architecture outside the filter is killed, not allowed. */
	assert_int_equal(bpf_run(&bpf, AUDIT_ARCH_MIPS, 1, 0, 0) &
				 SECCOMP_RET_ACTION_FULL,
			 SECCOMP_RET_KILL_THREAD);
	sbx_bpf_free(&bpf);
	assert_null(bpf.insns);
	assert_int_equal(bpf.len, 0);
	sbx_bpf_free(&bpf); /* twice is fine */
}

/* Docker's refusals and the capability that lifts each (-1: none). */
static const struct {
	const char *name;
	int cap;
	int err;
} docker_denies[] = {
	{ "add_key", -1, EPERM },
	{ "keyctl", -1, EPERM },
	{ "request_key", -1, EPERM },
	{ "io_uring_setup", -1, EPERM },
	{ "io_uring_enter", -1, EPERM },
	{ "io_uring_register", -1, EPERM },
	{ "kexec_load", -1, EPERM },
	{ "kexec_file_load", -1, EPERM },
	{ "userfaultfd", -1, EPERM },
	{ "pivot_root", -1, EPERM },
	{ "swapon", -1, EPERM },
	{ "uselib", -1, EPERM },
	{ "move_pages", -1, EPERM },
	{ "vm86", -1, EPERM },
	{ "mount", CAP_SYS_ADMIN, EPERM },
	{ "umount2", CAP_SYS_ADMIN, EPERM },
	{ "unshare", CAP_SYS_ADMIN, EPERM },
	{ "setns", CAP_SYS_ADMIN, EPERM },
	{ "fsopen", CAP_SYS_ADMIN, EPERM },
	{ "open_tree", CAP_SYS_ADMIN, EPERM },
	{ "move_mount", CAP_SYS_ADMIN, EPERM },
	{ "mount_setattr", CAP_SYS_ADMIN, EPERM },
	{ "sethostname", CAP_SYS_ADMIN, EPERM },
	{ "quotactl", CAP_SYS_ADMIN, EPERM },
	{ "clone3", CAP_SYS_ADMIN, ENOSYS },
	{ "bpf", CAP_BPF, EPERM },
	{ "bpf", CAP_SYS_ADMIN, EPERM },
	{ "perf_event_open", CAP_PERFMON, EPERM },
	{ "perf_event_open", CAP_SYS_ADMIN, EPERM },
	{ "syslog", CAP_SYSLOG, EPERM },
	{ "syslog", CAP_SYS_ADMIN, EPERM },
	{ "open_by_handle_at", CAP_DAC_READ_SEARCH, EPERM },
	{ "reboot", CAP_SYS_BOOT, EPERM },
	{ "acct", CAP_SYS_PACCT, EPERM },
	{ "init_module", CAP_SYS_MODULE, EPERM },
	{ "finit_module", CAP_SYS_MODULE, EPERM },
	{ "delete_module", CAP_SYS_MODULE, EPERM },
	{ "iopl", CAP_SYS_RAWIO, EPERM },
	{ "clock_settime", CAP_SYS_TIME, EPERM },
	{ "settimeofday", CAP_SYS_TIME, EPERM },
	{ "vhangup", CAP_SYS_TTY_CONFIG, EPERM },
	{ "kcmp", CAP_SYS_PTRACE, EPERM },
	{ "pidfd_getfd", CAP_SYS_PTRACE, EPERM },
};

/* What Docker lets every container do, on every architecture. */
static const char *const docker_allows[] = {
	"read",
	"write",
	"openat",
	"close",
	"execve",
	"getpid",
	"mmap",
	"futex",
	"wait4",
	"chroot",
	"adjtimex",
	"clock_adjtime",
	"name_to_handle_at",
	"ptrace",
	"process_vm_readv",
	"fchmodat2",
	/* Allowed by hutch though Docker gates them on CAP_SYS_NICE: NUMA
	 * policy of the caller's own memory (libnuma, MPI, PyTorch). */
	"mbind",
	"set_mempolicy",
	"get_mempolicy",
};

static void default_denies_what_docker_denies(void **state)
{
	struct sbx_bpf dflt = { 0 }, unlocked = { 0 };
	size_t n;
	const uint32_t *arches = test_arches(&n);

	(void)state;
	compile_ok(NULL, docker_caps, &dflt);
	for (size_t i = 0; i < ARRAY_SIZE(docker_denies); i++) {
		int cap = docker_denies[i].cap;

		if (cap >= 0)
			compile_ok(NULL, docker_caps | CAP(cap), &unlocked);
		for (size_t a = 0; a < n; a++) {
			int64_t d = decide(&dflt, arches[a],
					   docker_denies[i].name, 0, 0);

			if (d < 0)
				continue; /* not on this architecture */
			if (d != RET_ERRNO(docker_denies[i].err))
				fail_msg("%s on arch %#x: %#llx",
					 docker_denies[i].name, arches[a],
					 (unsigned long long)d);
			if (cap >= 0)
				assert_int_equal(decide(&unlocked, arches[a],
							docker_denies[i].name,
							0, 0),
						 SECCOMP_RET_ALLOW);
		}
		sbx_bpf_free(&unlocked);
	}
	for (size_t i = 0; i < ARRAY_SIZE(docker_allows); i++)
		for (size_t a = 0; a < n; a++) {
			int64_t d = decide(&dflt, arches[a], docker_allows[i],
					   0, 0);

			if (d >= 0 && d != SECCOMP_RET_ALLOW)
				fail_msg("%s on arch %#x: %#llx",
					 docker_allows[i], arches[a],
					 (unsigned long long)d);
		}
	sbx_bpf_free(&dflt);
}

static void default_capabilities_do_not_leak(void **state)
{
	struct sbx_bpf all_but_admin = { 0 }, nothing = { 0 };
	uint32_t native = seccomp_arch_native();

	(void)state;
	/* Every capability except CAP_SYS_ADMIN: still no mount or unshare;
	 * bpf and perf_event_open come back through CAP_BPF, CAP_PERFMON. */
	compile_ok(NULL, ~CAP(CAP_SYS_ADMIN), &all_but_admin);
	assert_int_equal(decide(&all_but_admin, native, "mount", 0, 0),
			 RET_ERRNO(EPERM));
	assert_int_equal(decide(&all_but_admin, native, "unshare", 0, 0),
			 RET_ERRNO(EPERM));
	assert_int_equal(decide(&all_but_admin, native, "keyctl", 0, 0),
			 RET_ERRNO(EPERM));
	assert_int_equal(decide(&all_but_admin, native, "bpf", 0, 0),
			 SECCOMP_RET_ALLOW);
	/* No capabilities at all: chroot goes too, as with Docker. */
	compile_ok(NULL, 0, &nothing);
	assert_int_equal(decide(&nothing, native, "chroot", 0, 0),
			 RET_ERRNO(EPERM));
	assert_int_equal(decide(&nothing, native, "getpid", 0, 0),
			 SECCOMP_RET_ALLOW);
	sbx_bpf_free(&all_but_admin);
	sbx_bpf_free(&nothing);
}

static void default_clone_namespace_flags(void **state)
{
	static const uint64_t ns[] = {
		CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
		CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
	};
	/* glibc's fork() and pthread_create() flags */
	const uint64_t fork_flags =
		CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
	const uint64_t thread_flags =
		CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
		CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	struct sbx_bpf dflt = { 0 }, admin = { 0 };
	size_t n;
	const uint32_t *arches = test_arches(&n);

	(void)state;
	compile_ok(NULL, docker_caps, &dflt);
	compile_ok(NULL, docker_caps | CAP(CAP_SYS_ADMIN), &admin);
	for (size_t a = 0; a < n; a++) {
		assert_int_equal(
			decide(&dflt, arches[a], "clone", fork_flags, 0),
			SECCOMP_RET_ALLOW);
		assert_int_equal(
			decide(&dflt, arches[a], "clone", thread_flags, 0),
			SECCOMP_RET_ALLOW);
		for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
			assert_int_equal(decide(&dflt, arches[a], "clone",
						fork_flags | ns[i], 0),
					 RET_ERRNO(EPERM));
			assert_int_equal(decide(&admin, arches[a], "clone",
						fork_flags | ns[i], 0),
					 SECCOMP_RET_ALLOW);
		}
		/* The flags are the first argument, not the second. */
		assert_int_equal(decide(&dflt, arches[a], "clone", SIGCHLD,
					CLONE_NEWUSER),
				 SECCOMP_RET_ALLOW);
	}
	sbx_bpf_free(&dflt);
	sbx_bpf_free(&admin);
}

/* Docker's personas: the query, PER_LINUX, PER_LINUX32, UNAME26, both. */
static bool persona_allowed(uint64_t p)
{
	return p == 0 || p == 8 || p == 0x20000 || p == 0x20008 ||
	       p == 0xffffffff;
}

static void default_personality(void **state)
{
	struct sbx_bpf bpf = { 0 };
	uint32_t native = seccomp_arch_native();
	uint64_t x = 88172645463325252ULL;
	size_t n;
	const uint32_t *arches = test_arches(&n);

	(void)state;
	compile_ok(NULL, docker_caps, &bpf);
	for (size_t a = 0; a < n; a++) {
		for (unsigned int b = 0; b < 32; b++) {
			uint64_t v[] = { 1ULL << b, 0xffffffffULL ^ (1ULL << b),
					 (1ULL << b) | 8,
					 (1ULL << b) | 0x20000 };

			for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
				uint32_t want = persona_allowed(v[i])
							? SECCOMP_RET_ALLOW
							: RET_ERRNO(EPERM);

				if (decide(&bpf, arches[a], "personality", v[i],
					   0) != want)
					fail_msg("personality(%#llx) on %#x",
						 (unsigned long long)v[i],
						 arches[a]);
			}
		}
		assert_int_equal(
			decide(&bpf, arches[a], "personality", 0xffffffff, 0),
			SECCOMP_RET_ALLOW);
		for (uint64_t p = 0; p <= 0x20010; p += 4) /* 0, 8, 0x20008 */
			assert_int_equal(decide(&bpf, arches[a], "personality",
						p, 0) == SECCOMP_RET_ALLOW,
					 persona_allowed(p));
	}
	/* xorshift: 20000 arbitrary 32-bit values on the native arch */
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		assert_int_equal(decide(&bpf, native, "personality",
					x & 0xffffffff, 0) == SECCOMP_RET_ALLOW,
				 persona_allowed(x & 0xffffffff));
	}
	assert_int_equal(decide(&bpf, native, "personality", 0x100000000ULL, 0),
			 RET_ERRNO(EPERM));
	assert_int_equal(
		decide(&bpf, native, "personality", 0xffffffffffffffffULL, 0),
		RET_ERRNO(EPERM));
	sbx_bpf_free(&bpf);
}

static void default_socket_vsock(void **state)
{
	struct sbx_bpf bpf = { 0 };
	uint32_t native = seccomp_arch_native();

	(void)state;
	compile_ok(NULL, docker_caps, &bpf);
	assert_int_equal(decide(&bpf, native, "socket", AF_VSOCK, 0),
			 RET_ERRNO(EPERM));
	assert_int_equal(decide(&bpf, native, "socket", AF_INET, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "socket", AF_UNIX, 0),
			 SECCOMP_RET_ALLOW);
#if defined(__x86_64__)
	/* 32-bit x86: socket() through socketcall(SYS_SOCKET) must work. */
	assert_int_equal(decide(&bpf, SCMP_ARCH_X86, "socketcall", 1, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, SCMP_ARCH_X32, "socket", AF_VSOCK, 0),
			 RET_ERRNO(EPERM));
#endif
	sbx_bpf_free(&bpf);
}

/* The kernel: what the default profile refuses, next to no filter. */
static const struct probe denied_probes[] = {
	{ "keyctl", p_keyctl },
	{ "add_key", p_add_key },
	{ "bpf", p_bpf },
	{ "unshare(CLONE_NEWUSER)", p_unshare_user },
	{ "mount", p_mount },
	{ "perf_event_open", p_perf },
	{ "userfaultfd", p_userfaultfd },
	{ "kexec_load", p_kexec },
	{ "init_module", p_init_module },
	{ "open_by_handle_at", p_open_by_handle },
	{ "clone3", p_clone3 },
	{ "getpid", p_getpid },
	{ "open/read/write", p_file_io },
	{ "fork", p_fork },
	{ "pthread_create", p_thread },
};

static const long denied_want[] = {
	-EPERM, -EPERM, -EPERM,	 -EPERM, -EPERM, -EPERM, -EPERM, -EPERM,
	-EPERM, -EPERM, -ENOSYS, 0,	 0,	 0,	 0,
};

static void kernel_default_profile(void **state)
{
	const size_t n = ARRAY_SIZE(denied_probes);
	struct sbx_bpf bpf = { 0 };
	long filtered[MAX_PROBES], bare[MAX_PROBES];

	(void)state;
	_Static_assert(ARRAY_SIZE(denied_probes) == ARRAY_SIZE(denied_want),
		       "one expectation per probe");
	compile_ok(NULL, docker_caps, &bpf);
	assert_true(run_probes(NULL, denied_probes, n, bare));
	assert_true(run_probes(&bpf, denied_probes, n, filtered));
	for (size_t i = 0; i < n; i++)
		if (filtered[i] != denied_want[i])
			fail_msg("%s: got %ld, want %ld (unfiltered: %ld)",
				 denied_probes[i].what, filtered[i],
				 denied_want[i], bare[i]);
	/* The filter, not the kernel, refused these: unfiltered, the same
	 * calls fail otherwise (keyctl: EOPNOTSUPP, add_key and mount and
	 * perf_event_open: EFAULT, clone3: EINVAL). */
	if (!already_filtered())
		for (size_t i = 0; i < n; i++)
			if (i == 0 || i == 1 || i == 4 || i == 5 || i == 10)
				assert_int_not_equal(bare[i], denied_want[i]);
	sbx_bpf_free(&bpf);
}

/* CAP_SYS_ADMIN lifts the namespace rules: the kernel decides again. */
static void kernel_sys_admin_unlocks(void **state)
{
	static const struct probe probes[] = {
		{ "unshare(CLONE_NEWUSER)", p_unshare_user },
		{ "mount", p_mount },
		{ "clone3", p_clone3 },
		{ "keyctl", p_keyctl },
	};
	struct sbx_bpf bpf = { 0 };
	long filtered[4], bare[4];

	(void)state;
	compile_ok(NULL, docker_caps | CAP(CAP_SYS_ADMIN), &bpf);
	assert_true(run_probes(NULL, probes, 4, bare));
	assert_true(run_probes(&bpf, probes, 4, filtered));
	for (size_t i = 0; i < 3; i++)
		if (filtered[i] != bare[i])
			fail_msg("%s: %ld under the filter, %ld without",
				 probes[i].what, filtered[i], bare[i]);
	assert_int_equal(filtered[3], -EPERM); /* keyrings stay shut */
	sbx_bpf_free(&bpf);
}

#if defined(__x86_64__)
/* A 32-bit system call from a 64-bit process, through the compat gate. */
static long int80(long nr, long a0)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a0), "c"(0), "d"(0)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static long p_int80_getpid(void)
{
	return int80(20 /* i386 getpid */, 0) == getpid() ? 0 : -EIO;
}

static long p_int80_keyctl(void)
{
	return int80(288 /* i386 keyctl */, 0x7fff);
}

/* x32 numbering: seccomp sees it even where the kernel lacks x32. */
static long p_x32_keyctl(void)
{
	return ret_errno(syscall(0x40000000 | SYS_keyctl, 0x7fff, 0, 0, 0));
}

/*
 * 32-bit system calls meet the same rules: x32 numbering always (seccomp
 * sees it before the kernel decides whether it has x32), and i386 through
 * int 0x80 where the kernel has IA-32 emulation switched on. Where it has
 * not, int 0x80 faults, and that part is left out rather than skipped:
 * cmocka reports a skip as "not ok", which tests/run counts as a failure.
 */
static void kernel_compat_arches(void **state)
{
	static const struct probe x32[] = { { "x32 keyctl", p_x32_keyctl } };
	static const struct probe i386[] = {
		{ "int80 getpid", p_int80_getpid },
		{ "int80 keyctl", p_int80_keyctl },
	};
	struct sbx_bpf bpf = { 0 };
	long res[2];

	(void)state;
	compile_ok(NULL, docker_caps, &bpf);
	assert_true(run_probes(&bpf, x32, 1, res));
	assert_int_equal(res[0], -EPERM);
	if (run_probes(NULL, i386, 1, res) && res[0] == 0) {
		assert_true(run_probes(&bpf, i386, 2, res));
		assert_int_equal(res[0], 0);
		assert_int_equal(res[1], -EPERM);
	}
	sbx_bpf_free(&bpf);
}
#endif

static void apply_empty_is_unconfined(void **state)
{
	struct sbx_bpf none = { 0 };

	(void)state;
	assert_int_equal(sbx_seccomp_apply(&none), 0);
	assert_int_equal(prctl(PR_GET_SECCOMP, 0, 0, 0, 0),
			 already_filtered() ? 2 : 0);
}

/* ---- custom profiles ---------------------------------------------------- */

/* A directory made by the parent; the children try to create in it. */
static char mkdir_path[64];

static long p_mkdir(void)
{
	long r = ret_errno(syscall(SYS_mkdir, mkdir_path, 0700));

	if (r == 0)
		rmdir(mkdir_path);
	return r;
}

static void profile_denies_mkdir(void **state)
{
	static const struct probe probes[] = {
		{ "mkdir", p_mkdir },
		{ "getpid", p_getpid },
	};
	struct sbx_bpf bpf = { 0 };
	long res[2], bare[2];

	char dir[] = "/tmp/hutch-seccomp-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(mkdir_path, sizeof(mkdir_path), "%s/sub", dir);
	compile_ok(fixture("deny-mkdir.json"), docker_caps, &bpf);
	assert_true(run_probes(NULL, probes, 2, bare));
	assert_int_equal(bare[0], 0);
	assert_true(run_probes(&bpf, probes, 2, res));
	assert_int_equal(res[0], -EACCES);
	assert_int_equal(res[1], 0);
	assert_int_equal(decide(&bpf, seccomp_arch_native(), "mkdirat", 0, 0),
			 RET_ERRNO(EACCES));
	assert_int_equal(rmdir(dir), 0); /* and nothing was left in it */
	sbx_bpf_free(&bpf);
}

static void profile_docker_shape(void **state)
{
	struct sbx_bpf bpf = { 0 }, admin = { 0 };
	uint32_t native = seccomp_arch_native();
	const char *path = fixture("docker-like.json");

	(void)state;
	compile_ok(path, docker_caps, &bpf);
	compile_ok(path, docker_caps | CAP(CAP_SYS_ADMIN), &admin);
	/* the allow-list and the default refusal */
	assert_int_equal(decide(&bpf, native, "getpid", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "gettimeofday", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "socketpair", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "mknod", 0, 0), RET_ERRNO(1));
	/* args */
	assert_int_equal(decide(&bpf, native, "socket", AF_VSOCK, 0),
			 RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "socket", AF_INET, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "personality", 0xffffffff, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(
		decide(&bpf, native, "personality", ADDR_NO_RANDOMIZE, 0),
		RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "sched_setaffinity", 0, 128),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "sched_setaffinity", 0, 8),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "sched_setaffinity", 0, 64),
			 RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "getpgid", 0, 7),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "getpgid", 0, 8), RET_ERRNO(1));
	/* includes and excludes: caps, arches, minKernel */
	assert_int_equal(decide(&bpf, native, "clone", SIGCHLD, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "clone", CLONE_NEWUSER, 0),
			 RET_ERRNO(1));
	assert_int_equal(decide(&admin, native, "clone", CLONE_NEWUSER, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "clone3", 0, 0),
			 RET_ERRNO(ENOSYS));
	assert_int_equal(decide(&admin, native, "clone3", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "mount", 0, 0), RET_ERRNO(1));
	assert_int_equal(decide(&admin, native, "mount", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "chroot", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&admin, native, "bpf", 0, 0), RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "ptrace", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "kcmp", 0, 0), RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "getsid", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&admin, native, "getsid", 0, 0), RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "setitimer", 0, 0), RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "getpgrp", 0, 0), RET_ERRNO(1));
#if defined(__x86_64__)
	assert_int_equal(decide(&bpf, native, "modify_ldt", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, native, "getitimer", 0, 0), RET_ERRNO(1));
	assert_int_equal(decide(&bpf, native, "cacheflush", 0, 0), -1);
	assert_int_equal(decide(&bpf, SCMP_ARCH_X86, "getpid", 0, 0),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(decide(&bpf, SCMP_ARCH_X32, "getpid", 0, 0),
			 SECCOMP_RET_ALLOW);
#endif
	sbx_bpf_free(&bpf);
	sbx_bpf_free(&admin);
}

static long p_personality_query(void)
{
	return ret_errno(syscall(SYS_personality, 0xffffffff) < 0 ? -1 : 0);
}

static long p_personality_norandom(void)
{
	return ret_errno(syscall(SYS_personality, ADDR_NO_RANDOMIZE));
}

/* A default-deny profile loaded for real: glibc's fork still works. */
static void kernel_docker_shape(void **state)
{
	static const struct probe probes[] = {
		{ "getpid", p_getpid },
		{ "personality(query)", p_personality_query },
		{ "personality(ADDR_NO_RANDOMIZE)", p_personality_norandom },
		{ "unshare(CLONE_NEWUSER)", p_unshare_user },
		{ "clone3", p_clone3 },
		{ "fork", p_fork },
		{ "open/read/write", p_file_io },
	};
	static const long want[] = { 0, 0, -EPERM, -EPERM, -ENOSYS, 0, 0 };
	struct sbx_bpf bpf = { 0 };
	long res[ARRAY_SIZE(probes)];

	(void)state;
	compile_ok(fixture("docker-like.json"), docker_caps, &bpf);
	assert_true(run_probes(&bpf, probes, ARRAY_SIZE(probes), res));
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		if (res[i] != want[i])
			fail_msg("%s: got %ld, want %ld", probes[i].what,
				 res[i], want[i]);
	sbx_bpf_free(&bpf);
}

/* A broken profile: the return, and the words the message must hold. */
static const struct {
	const char *file;
	int ret;
	const char *says;
} broken[] = {
	{ "does-not-exist.json", -ENOENT, "No such file" },
	{ "bad-json.json", -EINVAL, "invalid JSON at line 4" },
	{ "unknown-action.json", -EINVAL, "SCMP_ACT_EXPLODE" },
	{ "bad-op.json", -EINVAL, "unknown op \"SCMP_CMP_ALMOST\"" },
	{ "names-not-array.json", -EINVAL, "syscalls[0]: names must be" },
	{ "index-string.json", -EINVAL, "syscalls[0].args[0]: index must" },
	{ "errno-string.json", -EINVAL, "defaultErrnoRet must be an integer" },
	{ "no-default.json", -EINVAL, "defaultAction is missing" },
	{ "name-and-names.json", -EINVAL, "both name and names" },
	{ "arches-and-archmap.json", -EINVAL,
	  "both architectures and archMap" },
	{ "errno-on-allow.json", -EINVAL, "syscalls[0]: errnoRet only goes" },
	{ "not-an-object.json", -EINVAL, "must be a JSON object" },
};

static void profile_errors_name_path_and_fix(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		struct sbx_bpf bpf = { 0 };
		struct hutch_err err = { 0 };
		const char *path = fixture(broken[i].file);
		int ret = sbx_seccomp_compile(path, docker_caps, &bpf, &err);

		if (ret != broken[i].ret || !strstr(err.msg, path) ||
		    !strstr(err.msg, broken[i].says) || strchr(err.msg, '\n'))
			fail_msg("%s: %d: \"%s\"", broken[i].file, ret,
				 err.msg);
		/* what to do about it, after a "; " */
		assert_non_null(strstr(err.msg, "; "));
		assert_null(bpf.insns);
		assert_int_equal(bpf.len, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_compiles_all_arches),
		cmocka_unit_test(default_denies_what_docker_denies),
		cmocka_unit_test(default_capabilities_do_not_leak),
		cmocka_unit_test(default_clone_namespace_flags),
		cmocka_unit_test(default_personality),
		cmocka_unit_test(default_socket_vsock),
		cmocka_unit_test(kernel_default_profile),
		cmocka_unit_test(kernel_sys_admin_unlocks),
#if defined(__x86_64__)
		cmocka_unit_test(kernel_compat_arches),
#endif
		cmocka_unit_test(apply_empty_is_unconfined),
		cmocka_unit_test(profile_denies_mkdir),
		cmocka_unit_test(profile_docker_shape),
		cmocka_unit_test(kernel_docker_shape),
		cmocka_unit_test(profile_errors_name_path_and_fix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
