// SPDX-License-Identifier: Apache-2.0
/* seccomp.c - the container's seccomp filter: hutch's default profile and
 * Docker-format JSON profiles, compiled on the host, loaded before execve
 *
 * Theory of operation
 *
 * The filter is decided and compiled in hutch's own process, before the
 * container exists: libseccomp builds it, seccomp_export_bpf() writes the
 * raw BPF program into a memfd, and we read it back into a struct sbx_bpf.
 * The container side then needs no allocator, no libseccomp state and no
 * error reporting beyond one errno: sbx_seccomp_apply() is a single
 * seccomp(2) call made right before execve. Compiling on the host also means
 * a broken profile is reported before any namespace is created.
 *
 * hutch's default profile (no path given) is a deny-list: everything is
 * allowed except what Docker's default profile refuses to a container with
 * the same capabilities, and those calls fail with EPERM. Docker writes its
 * profile as an allow-list; we invert it on purpose: the system calls that
 * kernels and C libraries add every year (fchmodat2, futex_wait, cachestat,
 * ...) then work without a hutch release, and the program stays small (about
 * 480 instructions on x86_64 against 1,200 for Docker's list; with
 * libseccomp's binary tree either costs 10 to 17 per system call). The
 * price is that a new dangerous system call is allowed until it is added to
 * deny_rules[]; the ones that matter (the mount API, io_uring, bpf, keyrings,
 * userfaultfd) already are. Capabilities lift rules exactly as Docker's
 * "includes": {"caps": [...]} do: CAP_SYS_ADMIN gives back mount, unshare,
 * setns and namespace flags on clone, and so on (see deny_rules[]).
 * personality() keeps to Docker's five personas (add_personality()).
 *
 * The filter covers the native architecture and its 32-bit companions
 * (x86 and x32 on x86_64, arm on aarch64), so 32-bit binaries run under the
 * same rules instead of being killed by the filter's bad-architecture
 * action. Each architecture is built in its own libseccomp context and the
 * contexts are merged: a rule that compares arguments is then added only
 * where the system call exists as itself. On 32-bit x86, socket() may also
 * arrive multiplexed through socketcall(), whose arguments sit in user
 * memory; libseccomp would turn "socket(AF_VSOCK)" into "every socketcall
 * socket()" there and break 32-bit networking, so that rule stays off x86.
 *
 * A custom profile (a path) is read as Docker reads it: defaultAction,
 * architectures or archMap, and syscalls[] with names, action, errnoRet,
 * args and includes/excludes on caps, arches and minKernel. It is built
 * in one context holding every architecture, as runc does, so a profile
 * behaves under hutch exactly as under Docker. System call names this
 * libseccomp does not know are skipped, as Docker skips them.
 *
 * no_new_privs is left to the caller (sbx_exec_command() sets it), so
 * libseccomp's SCMP_FLTATR_CTL_NNP is off; it only matters for
 * seccomp_load(), which we never call.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"
#include "common/json-cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* A custom profile larger than this is surely not a seccomp profile. */
#define PROFILE_MAX_BYTES (4 << 20)

#define CAP(c) (1ULL << (c))

/*
 * A pseudo-capability, above every real one: set when the kernel is 4.8 or
 * newer. From 4.8 on the kernel runs seccomp again after a tracer changes a
 * system call, so ptrace can no longer be used to step around the filter;
 * Docker allows ptrace and process_vm_* from that version on, and so do we
 * (debuggers, strace and py-spy then work in containers).
 */
#define UNLOCK_KERNEL_4_8 (1ULL << 63)

/* In a rule's comparison: "whichever argument holds clone()'s flags". */
#define ARG_CLONE_FLAGS 6

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	int saved = errno;

	if (*ctx)
		seccomp_release(*ctx);
	errno = saved;
}

#define cleanup_ctx __attribute__((cleanup(ctx_releasep)))

/* ---- the default profile ------------------------------------------------ */

/**
 * struct deny_rule - one refusal of the default profile
 * @name:   the system call, as libseccomp spells it
 * @unlock: capabilities any one of which lifts the rule (0: none does)
 * @err:    the errno the call fails with
 * @n_cmp:  0, or 1 when the rule applies only when @cmp matches
 */
struct deny_rule {
	const char *name;
	uint64_t unlock;
	int err;
	unsigned int n_cmp;
	struct scmp_arg_cmp cmp;
};

#define ADMIN CAP(CAP_SYS_ADMIN)

/* A rule without and with a condition on one argument. */
#define DENY(n, caps, e)                                  \
	{                                                 \
		.name = (n), .unlock = (caps), .err = (e) \
	}
#define DENY_IF(n, caps, e, index, cmp_op, a, b)                       \
	{                                                              \
		.name = (n), .unlock = (caps), .err = (e), .n_cmp = 1, \
		.cmp = { .arg = (index),                               \
			 .op = (cmp_op),                               \
			 .datum_a = (a),                               \
			 .datum_b = (b) },                             \
	}
#define DENY_NS(flag)                                                       \
	DENY_IF("clone", ADMIN, EPERM, ARG_CLONE_FLAGS, SCMP_CMP_MASKED_EQ, \
		(flag), (flag))

/*
 * Docker's default profile, inverted: what it refuses to a container with
 * Docker's default capabilities (moby profiles/seccomp/default.json), and
 * which capability gives each call back. Not here, because Docker allows
 * them: clock_adjtime and adjtimex (the kernel checks CAP_SYS_TIME in the
 * initial namespace before changing anything), name_to_handle_at, and, on
 * 4.8+, ptrace and process_vm_*. Allowed although Docker refuses them:
 * system calls newer than its list, and old i386 ones (signal, sgetmask,
 * oldstat, ...) that grant nothing. Denied although Docker allows them:
 * nothing. personality() is filtered in add_personality(). Names this
 * libseccomp does not know (open_tree_attr before 2.6) are skipped.
 */
static const struct deny_rule deny_rules[] = {
	/* kernel keyrings are not namespaced */
	DENY("add_key", 0, EPERM),
	DENY("keyctl", 0, EPERM),
	DENY("request_key", 0, EPERM),
	/* io_uring's operations bypass seccomp; Docker refuses it since 2023 */
	DENY("io_uring_setup", 0, EPERM),
	DENY("io_uring_enter", 0, EPERM),
	DENY("io_uring_register", 0, EPERM),
	/* the host's kernel, swap, memory placement and old interfaces */
	DENY("kexec_load", 0, EPERM),
	DENY("kexec_file_load", 0, EPERM),
	DENY("create_module", 0, EPERM),
	DENY("get_kernel_syms", 0, EPERM),
	DENY("query_module", 0, EPERM),
	DENY("nfsservctl", 0, EPERM),
	DENY("_sysctl", 0, EPERM),
	DENY("sysfs", 0, EPERM),
	DENY("uselib", 0, EPERM),
	DENY("ustat", 0, EPERM),
	DENY("swapon", 0, EPERM),
	DENY("swapoff", 0, EPERM),
	DENY("userfaultfd", 0, EPERM),
	DENY("migrate_pages", 0, EPERM),
	DENY("move_pages", 0, EPERM),
	DENY("vm86", 0, EPERM),
	DENY("vm86old", 0, EPERM),
	/* Docker allows pivot_root to nobody, not even with CAP_SYS_ADMIN */
	DENY("pivot_root", 0, EPERM),
	/* virtio sockets reach the hypervisor, not the container's network */
	DENY_IF("socket", 0, EPERM, 0, SCMP_CMP_EQ, AF_VSOCK, 0),
	/* mounts, namespaces and the rest of CAP_SYS_ADMIN */
	DENY("mount", ADMIN, EPERM),
	DENY("umount", ADMIN, EPERM),
	DENY("umount2", ADMIN, EPERM),
	DENY("fsopen", ADMIN, EPERM),
	DENY("fsconfig", ADMIN, EPERM),
	DENY("fsmount", ADMIN, EPERM),
	DENY("fspick", ADMIN, EPERM),
	DENY("move_mount", ADMIN, EPERM),
	DENY("open_tree", ADMIN, EPERM),
	DENY("open_tree_attr", ADMIN, EPERM),
	DENY("mount_setattr", ADMIN, EPERM),
	DENY("unshare", ADMIN, EPERM),
	DENY("setns", ADMIN, EPERM),
	DENY("quotactl", ADMIN, EPERM),
	DENY("quotactl_fd", ADMIN, EPERM),
	DENY("lookup_dcookie", ADMIN, EPERM),
	DENY("fanotify_init", ADMIN, EPERM),
	DENY("sethostname", ADMIN, EPERM),
	DENY("setdomainname", ADMIN, EPERM),
	DENY_NS(CLONE_NEWNS),
	DENY_NS(CLONE_NEWUTS),
	DENY_NS(CLONE_NEWIPC),
	DENY_NS(CLONE_NEWUSER),
	DENY_NS(CLONE_NEWPID),
	DENY_NS(CLONE_NEWNET),
	DENY_NS(CLONE_NEWCGROUP),
	/* clone()'s 0x80 is exit-signal space: no valid signal sets it */
	DENY_NS(CLONE_NEWTIME),
	/* clone3's flags sit in user memory; ENOSYS makes libc use clone() */
	DENY("clone3", ADMIN, ENOSYS),
	DENY("bpf", ADMIN | CAP(CAP_BPF), EPERM),
	DENY("perf_event_open", ADMIN | CAP(CAP_PERFMON), EPERM),
	DENY("syslog", ADMIN | CAP(CAP_SYSLOG), EPERM),
	/* one capability each */
	DENY("open_by_handle_at", CAP(CAP_DAC_READ_SEARCH), EPERM),
	DENY("chroot", CAP(CAP_SYS_CHROOT), EPERM),
	DENY("reboot", CAP(CAP_SYS_BOOT), EPERM),
	DENY("acct", CAP(CAP_SYS_PACCT), EPERM),
	DENY("init_module", CAP(CAP_SYS_MODULE), EPERM),
	DENY("finit_module", CAP(CAP_SYS_MODULE), EPERM),
	DENY("delete_module", CAP(CAP_SYS_MODULE), EPERM),
	DENY("iopl", CAP(CAP_SYS_RAWIO), EPERM),
	DENY("ioperm", CAP(CAP_SYS_RAWIO), EPERM),
	DENY("settimeofday", CAP(CAP_SYS_TIME), EPERM),
	DENY("stime", CAP(CAP_SYS_TIME), EPERM),
	DENY("clock_settime", CAP(CAP_SYS_TIME), EPERM),
	DENY("clock_settime64", CAP(CAP_SYS_TIME), EPERM),
	DENY("vhangup", CAP(CAP_SYS_TTY_CONFIG), EPERM),
	/* Docker gates get_mempolicy, set_mempolicy, set_mempolicy_home_node
	 * and mbind on CAP_SYS_NICE. We allow them: they only set the
	 * calling process's own NUMA policy, within its cpuset, and libnuma,
	 * hwloc, MPI and PyTorch on HPC and GPU nodes fail without them. */
	DENY("kcmp", CAP(CAP_SYS_PTRACE), EPERM),
	DENY("pidfd_getfd", CAP(CAP_SYS_PTRACE), EPERM),
	DENY("process_madvise", CAP(CAP_SYS_PTRACE), EPERM),
	DENY("ptrace", CAP(CAP_SYS_PTRACE) | UNLOCK_KERNEL_4_8, EPERM),
	DENY("process_vm_readv", CAP(CAP_SYS_PTRACE) | UNLOCK_KERNEL_4_8,
	     EPERM),
	DENY("process_vm_writev", CAP(CAP_SYS_PTRACE) | UNLOCK_KERNEL_4_8,
	     EPERM),
};

/* The 32-bit architectures whose binaries run on each 64-bit one. */
static const struct {
	uint32_t native;
	uint32_t compat[2];
} compat_arches[] = {
	{ SCMP_ARCH_X86_64, { SCMP_ARCH_X86, SCMP_ARCH_X32 } },
	{ SCMP_ARCH_AARCH64, { SCMP_ARCH_ARM, 0 } },
	{ SCMP_ARCH_S390X, { SCMP_ARCH_S390, 0 } },
};

/* Is the running kernel at least @major.@minor? */
static bool kernel_at_least(unsigned int major, unsigned int minor)
{
	struct utsname u;
	unsigned int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/* s390 passes clone()'s stack first and its flags second. */
static unsigned int clone_flags_arg(uint32_t arch)
{
	return arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X ? 1 : 0;
}

/*
 * A context for one architecture, default action @def. Every context of
 * one filter gets the same attributes: seccomp_merge() requires it.
 */
static scmp_filter_ctx ctx_new(uint32_t def)
{
	scmp_filter_ctx ctx = seccomp_init(def);

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	/* We set no_new_privs ourselves; export does not need it either. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) {
		seccomp_release(ctx);
		errno = EINVAL;
		return NULL;
	}
	/* A binary tree of system calls: long allow-lists stay cheap. Older
	 * libseccomp lacks it, which costs speed, not safety. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	return ctx;
}

/* Make @ctx hold @arch only (contexts start with the native one). */
static int ctx_set_arch(scmp_filter_ctx ctx, uint32_t arch)
{
	uint32_t native = seccomp_arch_native();
	int ret;

	if (arch == native)
		return 0;
	ret = seccomp_arch_add(ctx, arch);
	if (ret < 0)
		return ret;
	return seccomp_arch_remove(ctx, native);
}

static int add_deny_rule(scmp_filter_ctx ctx, uint32_t arch,
			 const struct deny_rule *rule)
{
	int nr = seccomp_syscall_resolve_name(rule->name);
	struct scmp_arg_cmp cmp = rule->cmp;

	/* Unknown to this libseccomp, or not a system call of its own on
	 * @arch (absent, or multiplexed: see the theory of operation). */
	if (nr == __NR_SCMP_ERROR ||
	    seccomp_syscall_resolve_name_arch(arch, rule->name) < 0)
		return 0;
	if (cmp.arg == ARG_CLONE_FLAGS)
		cmp.arg = clone_flags_arg(arch);
	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(rule->err), nr,
				      rule->n_cmp, &cmp);
}

/*
 * personality(2): Docker allows only PER_LINUX (0), PER_LINUX32 (8),
 * UNAME26 (0x20000), both (0x20008) and the query 0xffffffff. Refusing
 * everything else keeps ADDR_NO_RANDOMIZE and READ_IMPLIES_EXEC out.
 *
 * libseccomp cannot AND two comparisons of one argument, so "none of five
 * values" becomes an OR of single masked comparisons. Let M be the 30 bits
 * outside 0x20008. A 32-bit value is refused exactly when it has a bit of M
 * set and is not 0xffffffff, i.e. when it has a bit of M set and some bit
 * clear. Walk M as a cycle m0, m1, ..., m29, m0: for "m_i set and m_i+1
 * clear" over all i, some pair matches whenever the value's M bits are
 * neither none nor all. When all of M is set, the value is refused iff bit
 * 3 or bit 17 is clear: two more rules. Values above 32 bits: one more.
 */
static int add_personality(scmp_filter_ctx ctx)
{
	const uint32_t allowed_bits = 0x20008;
	uint32_t m[32];
	unsigned int n = 0;
	int nr = seccomp_syscall_resolve_name("personality");
	int ret = 0;

	for (unsigned int b = 0; b < 32; b++)
		if (!(allowed_bits & (1U << b)))
			m[n++] = 1U << b;
	for (unsigned int i = 0; i < n && ret == 0; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ,
					       m[i] | m[(i + 1) % n], m[i]));
	if (ret == 0)
		ret = seccomp_rule_add(
			ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
			SCMP_A0(SCMP_CMP_MASKED_EQ, m[0] | 0x8, m[0]));
	if (ret == 0)
		ret = seccomp_rule_add(
			ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
			SCMP_A0(SCMP_CMP_MASKED_EQ, m[0] | 0x20000, m[0]));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
				       SCMP_A0(SCMP_CMP_GT, 0xffffffffULL, 0));
	return ret;
}

/* The default profile for one architecture, in a context of its own. */
/*
 * Root emulation for builds without subordinate ids: a user namespace with
 * only root mapped cannot give files other owners or switch ids, and
 * apt-get, dpkg, useradd and pip try to. These calls then "succeed"
 * without effect (SCMP_ACT_ERRNO(0) returns 0 and runs nothing), as do
 * mknod of device nodes; fifos and regular files are made for real.
 */
static const char *const fake_root_calls[] = {
	"chown",       "fchown",      "lchown",	     "fchownat",   "chown32",
	"fchown32",    "lchown32",    "setuid",	     "setgid",	   "setreuid",
	"setregid",    "setresuid",   "setresgid",   "setgroups",  "setfsuid",
	"setfsgid",    "setuid32",    "setgid32",    "setreuid32", "setregid32",
	"setresuid32", "setresgid32", "setgroups32", "setfsuid32", "setfsgid32",
};

static int add_fake_root(scmp_filter_ctx ctx, uint32_t arch)
{
	static const struct {
		const char *name;
		unsigned int mode_arg;
	} mknods[] = { { "mknod", 1 }, { "mknodat", 2 } };
	int ret = 0;

	/* Rules take libseccomp's (native) numbers; a call absent on @arch
	 * is left out, as for the deny rules. */
	for (size_t i = 0; i < ARRAY_SIZE(fake_root_calls) && ret == 0; i++) {
		int nr = seccomp_syscall_resolve_name(fake_root_calls[i]);

		if (nr != __NR_SCMP_ERROR &&
		    seccomp_syscall_resolve_name_arch(arch,
						      fake_root_calls[i]) >= 0)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(mknods) && ret == 0; i++) {
		int nr = seccomp_syscall_resolve_name(mknods[i].name);

		if (nr == __NR_SCMP_ERROR ||
		    seccomp_syscall_resolve_name_arch(arch, mknods[i].name) < 0)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 1,
				       SCMP_CMP(mknods[i].mode_arg,
						SCMP_CMP_MASKED_EQ, S_IFMT,
						S_IFCHR));
		if (ret == 0)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 1,
					       SCMP_CMP(mknods[i].mode_arg,
							SCMP_CMP_MASKED_EQ,
							S_IFMT, S_IFBLK));
	}
	return ret;
}

static scmp_filter_ctx default_ctx(uint32_t arch, uint64_t have,
				   struct hutch_err *err)
{
	cleanup_ctx scmp_filter_ctx ctx = ctx_new(SCMP_ACT_ALLOW);
	int ret;

	if (!ctx) {
		cmn_err_set(err, errno, "cannot start a seccomp filter");
		return NULL;
	}
	ret = ctx_set_arch(ctx, arch);
	for (size_t i = 0; i < ARRAY_SIZE(deny_rules) && ret == 0; i++)
		if (!(deny_rules[i].unlock & have))
			ret = add_deny_rule(ctx, arch, &deny_rules[i]);
	if (ret == 0)
		ret = add_personality(ctx);
	if (ret == 0 && (have & SBX_SECCOMP_FAKE_ROOT))
		ret = add_fake_root(ctx, arch);
	if (ret < 0) {
		cmn_err_set(
			err, -ret,
			"cannot build the default seccomp filter for architecture %#x",
			arch);
		errno = -ret;
		return NULL;
	}
	return steal_ptr(&ctx);
}

/* The native architecture's filter with its compat ones merged in. */
static scmp_filter_ctx default_filter(uint64_t caps, struct hutch_err *err)
{
	uint32_t native = seccomp_arch_native();
	uint64_t have = caps & ~UNLOCK_KERNEL_4_8;
	cleanup_ctx scmp_filter_ctx ctx = NULL;

	if (kernel_at_least(4, 8))
		have |= UNLOCK_KERNEL_4_8;
	ctx = default_ctx(native, have, err);
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(compat_arches); i++) {
		if (compat_arches[i].native != native)
			continue;
		for (size_t j = 0; j < 2 && compat_arches[i].compat[j]; j++) {
			uint32_t arch = compat_arches[i].compat[j];
			cleanup_ctx scmp_filter_ctx sub =
				default_ctx(arch, have, err);
			int ret;

			if (!sub)
				return NULL;
			/* On success, seccomp_merge() frees @sub. */
			ret = seccomp_merge(ctx, sub);
			if (ret < 0) {
				cmn_err_set(
					err, -ret,
					"cannot merge the seccomp filters of architectures %#x and %#x",
					native, arch);
				errno = -ret;
				return NULL;
			}
			sub = NULL;
		}
	}
	return steal_ptr(&ctx);
}

/* ---- custom profiles ----------------------------------------------------- */

/**
 * struct profile - a Docker-format profile being turned into a filter
 * @path:   for messages (borrowed)
 * @caps:   the container's capabilities, for includes/excludes
 * @ctx:    the filter (owned by the caller)
 * @def:    the default action, to skip rules that repeat it (as runc does)
 * @err:    where the one-line message goes
 */
struct profile {
	const char *path;
	uint64_t caps;
	scmp_filter_ctx ctx;
	uint32_t def;
	struct hutch_err *err;
};

/* "seccomp profile PATH: WHERE: WHAT; FIX" and -EINVAL. A NULL @fix is a
 * field of the wrong type, and WHAT already says which type it needs. */
static int bad(const struct profile *p, const char *where, const char *fix,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(const struct profile *p, const char *where, const char *fix,
	       const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	cmn_err_msg(p->err, EINVAL, "seccomp profile %s: %s: %s", p->path,
		    where, what);
	cmn_err_fix(p->err, "%s",
		    fix ? fix : "correct it as Docker's profile format has it");
	return -EINVAL;
}

/* The Go name of the architecture hutch runs on, as "arches" spell it. */
static const char *go_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "";
#endif
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, or 0 when unknown. */
static uint32_t arch_token(const char *name)
{
	char lower[32];
	size_t i = 0;

	if (cmn_has_prefix(name, "SCMP_ARCH_"))
		name += strlen("SCMP_ARCH_");
	for (; i < sizeof(lower) - 1 && name[i]; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z'
					  ? name[i] - 'A' + 'a'
					  : name[i]);
	lower[i] = '\0';
	return name[i] ? 0 : seccomp_arch_resolve_name(lower);
}

static int add_arch(const struct profile *p, const char *where,
		    const json_t *name)
{
	uint32_t arch;
	int ret;

	if (!json_is_string(name))
		return bad(p, where, NULL,
			   "must be a string such as \"SCMP_ARCH_X86_64\"");
	arch = arch_token(json_string_value(name));
	if (!arch)
		return bad(
			p, where,
			"use SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_AARCH64, ...",
			"unknown architecture \"%s\"", json_string_value(name));
	ret = seccomp_arch_add(p->ctx, arch);
	if (ret < 0 && ret != -EEXIST)
		return cmn_err_set(
			p->err, -ret,
			"seccomp profile %s: %s: cannot add architecture %s",
			p->path, where, json_string_value(name));
	return 0;
}

/* "architectures": [names], all added. */
static int parse_architectures(const struct profile *p, const json_t *list)
{
	char where[64];
	size_t i;
	json_t *v;

	if (!json_is_array(list))
		return bad(p, "architectures", NULL, "must be an array");
	json_array_foreach(list, i, v)
	{
		int ret;

		snprintf(where, sizeof(where), "architectures[%zu]", i);
		ret = add_arch(p, where, v);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* "archMap": the native entry's architecture and its subArchitectures. */
static int parse_arch_map(const struct profile *p, const json_t *map)
{
	char where[96];
	size_t i, j;
	json_t *e, *sub, *v;

	if (!json_is_array(map))
		return bad(p, "archMap", NULL, "must be an array");
	json_array_foreach(map, i, e)
	{
		json_t *a = json_object_get(e, "architecture");

		snprintf(where, sizeof(where), "archMap[%zu].architecture", i);
		if (!json_is_string(a))
			return bad(p, where, NULL, "must be a string");
		/* Entries for other machines may name architectures this
		 * libseccomp does not know: they are not ours. */
		if (arch_token(json_string_value(a)) != seccomp_arch_native())
			continue;
		sub = json_object_get(e, "subArchitectures");
		if (sub && !json_is_null(sub) && !json_is_array(sub)) {
			snprintf(where, sizeof(where),
				 "archMap[%zu].subArchitectures", i);
			return bad(p, where, NULL, "must be an array or null");
		}
		json_array_foreach(sub, j, v)
		{
			int ret;

			snprintf(where, sizeof(where),
				 "archMap[%zu].subArchitectures[%zu]", i, j);
			ret = add_arch(p, where, v);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	uint32_t action;
	bool takes_errno; /* errnoRet is its data */
} actions[] = {
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true },
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL, false },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
};

/*
 * The action named by @obj's field @act_key, with its errno from the field
 * @errno_key, into libseccomp's value. ERRNO and TRACE without one use
 * EPERM, as Docker does.
 */
static int parse_action(const struct profile *p, const char *where,
			const json_t *obj, const char *act_key,
			const char *errno_key, uint32_t *out)
{
	const char *name = json_string_value(json_object_get(obj, act_key));
	const json_t *ret_errno = json_object_get(obj, errno_key);
	json_int_t e = EPERM;

	if (!name)
		return bad(p, where, "set it, e.g. \"SCMP_ACT_ERRNO\"",
			   "%s is missing or not a string", act_key);
	if (ret_errno && !json_is_null(ret_errno)) {
		if (!json_is_integer(ret_errno) ||
		    json_integer_value(ret_errno) < 0 ||
		    json_integer_value(ret_errno) > 4095)
			return bad(p, where, NULL,
				   "%s must be an integer from 0 to 4095",
				   errno_key);
		e = json_integer_value(ret_errno);
	}
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(name, actions[i].name) != 0)
			continue;
		if (!actions[i].takes_errno && ret_errno &&
		    !json_is_null(ret_errno))
			return bad(
				p, where, "remove it",
				"%s only goes with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s",
				errno_key, name);
		*out = actions[i].action |
		       (actions[i].takes_errno ? (uint32_t)e : 0);
		return 0;
	}
	if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		return bad(
			p, where, "use another action",
			"SCMP_ACT_NOTIFY needs a seccomp agent, which hutch does not have");
	return bad(
		p, where,
		"use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG",
		"unknown action \"%s\"", name);
}

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* A non-negative JSON integer field of @obj; absent is 0. */
static bool get_u64(const json_t *obj, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* One element of "args": {index, value, valueTwo, op}. */
static int parse_arg(const struct profile *p, const char *where,
		     const json_t *arg, struct scmp_arg_cmp *out)
{
	const char *op = json_string_value(json_object_get(arg, "op"));
	uint64_t index;

	if (!json_is_object(arg))
		return bad(
			p, where, NULL,
			"must be an object with index, value, valueTwo and op");
	if (!json_object_get(arg, "index") || !get_u64(arg, "index", &index) ||
	    index > 5)
		return bad(p, where, NULL,
			   "index must be an integer from 0 to 5");
	if (!get_u64(arg, "value", &out->datum_a) ||
	    !get_u64(arg, "valueTwo", &out->datum_b))
		return bad(p, where, NULL,
			   "value and valueTwo must be non-negative integers");
	out->arg = (unsigned int)index;
	for (size_t i = 0; op && i < ARRAY_SIZE(ops); i++) {
		if (strcmp(op, ops[i].name) == 0) {
			out->op = ops[i].op;
			return 0;
		}
	}
	return bad(
		p, where,
		"use SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT or SCMP_CMP_MASKED_EQ",
		"unknown op \"%s\"", op ? op : "(missing)");
}

/* Does the JSON array of strings @list hold @s? */
static bool list_has(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* Does the container hold the capability named @name? Names libcap does
 * not know are not held: Docker compares names, so they never match. */
static bool has_cap(const struct profile *p, const json_t *name)
{
	cap_value_t cap;

	if (!json_is_string(name) ||
	    cap_from_name(json_string_value(name), &cap) < 0 || cap < 0 ||
	    cap >= 64)
		return false;
	return p->caps & CAP(cap);
}

/* What an "includes" or "excludes" object says about this container. */
struct filter_facts {
	bool arches;	 /* it lists architectures ... */
	bool our_arch;	 /* ... and ours among them */
	bool all_caps;	 /* every capability listed is held (true: none) */
	bool any_cap;	 /* some capability listed is held */
	bool min_kernel; /* it names a minKernel ... */
	bool kernel_ok;	 /* ... and the running kernel is at least that */
};

static int parse_min_kernel(const struct profile *p, const char *where,
			    const json_t *mk, struct filter_facts *out)
{
	unsigned int major, minor;
	char tail;

	if (!json_is_string(mk) || sscanf(json_string_value(mk), "%u.%u%c",
					  &major, &minor, &tail) != 2)
		return bad(p, where, NULL,
			   "minKernel must be a string such as \"4.8\"");
	out->min_kernel = true;
	out->kernel_ok = kernel_at_least(major, minor);
	return 0;
}

static int parse_filter(const struct profile *p, const char *where,
			const json_t *f, struct filter_facts *out)
{
	const json_t *arches = json_object_get(f, "arches");
	const json_t *caps = json_object_get(f, "caps");
	const json_t *mk = json_object_get(f, "minKernel");
	size_t i;
	json_t *v;

	*out = (struct filter_facts){ .all_caps = true };
	if (!json_is_object(f) ||
	    (arches && !json_is_array(arches) && !json_is_null(arches)) ||
	    (caps && !json_is_array(caps) && !json_is_null(caps)))
		return bad(
			p, where, NULL,
			"must be an object whose arches and caps are arrays of strings");
	out->arches = json_array_size(arches) > 0;
	out->our_arch = list_has(arches, go_arch());
	json_array_foreach(caps, i, v)
	{
		bool held = has_cap(p, v);

		if (!json_is_string(v))
			return bad(
				p, where, NULL,
				"caps must hold strings such as \"CAP_SYS_ADMIN\"");

		out->all_caps = out->all_caps && held;
		out->any_cap = out->any_cap || held;
	}
	if (mk && !json_is_null(mk))
		return parse_min_kernel(p, where, mk, out);
	return 0;
}

/* Docker's rule: includes need everything they list, excludes anything. */
static int rule_applies(const struct profile *p, const char *where,
			const json_t *call, bool *applies)
{
	const json_t *inc = json_object_get(call, "includes");
	const json_t *exc = json_object_get(call, "excludes");
	struct filter_facts f;
	char w[96];
	int ret;

	*applies = true;
	if (exc && !json_is_null(exc)) {
		snprintf(w, sizeof(w), "%s.excludes", where);
		ret = parse_filter(p, w, exc, &f);
		if (ret < 0)
			return ret;
		if ((f.arches && f.our_arch) || f.any_cap ||
		    (f.min_kernel && f.kernel_ok))
			*applies = false;
	}
	if (inc && !json_is_null(inc)) {
		snprintf(w, sizeof(w), "%s.includes", where);
		ret = parse_filter(p, w, inc, &f);
		if (ret < 0)
			return ret;
		if ((f.arches && !f.our_arch) || !f.all_caps ||
		    (f.min_kernel && !f.kernel_ok))
			*applies = false;
	}
	return 0;
}

/* The names of one syscalls[] entry: "names" or the legacy "name". */
static int call_names(const struct profile *p, const char *where,
		      const json_t *call, json_t **out)
{
	json_t *names = json_object_get(call, "names");
	json_t *name = json_object_get(call, "name");
	size_t i;
	json_t *v;

	if (name && !json_is_null(name) && json_array_size(names) > 0)
		return bad(p, where, "keep one of them",
			   "both name and names are given");
	if (name && !json_is_null(name)) {
		if (!json_is_string(name))
			return bad(p, where, NULL, "name must be a string");
		*out = json_pack("[O]", name);
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_array(names) || json_array_size(names) == 0)
		return bad(p, where, "list the system calls in \"names\"",
			   "names must be a non-empty array of strings");
	json_array_foreach(names, i, v)
	{
		if (!json_is_string(v))
			return bad(p, where, NULL,
				   "names must be an array of strings");
	}
	*out = json_incref(names);
	return 0;
}

/* The comparisons of one entry; runc's reading of repeated indexes. */
static int call_args(const struct profile *p, const char *where,
		     const json_t *call, struct scmp_arg_cmp cmp[6],
		     unsigned int *n, bool *separate)
{
	const json_t *args = json_object_get(call, "args");
	unsigned int seen = 0;
	char w[96];
	size_t i;
	json_t *a;

	*n = 0;
	*separate = false;
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args) || json_array_size(args) > 6)
		return bad(p, where, NULL,
			   "args must be an array of at most 6 comparisons");
	json_array_foreach(args, i, a)
	{
		int ret;

		snprintf(w, sizeof(w), "%s.args[%zu]", where, i);
		ret = parse_arg(p, w, a, &cmp[i]);
		if (ret < 0)
			return ret;
		/* Two comparisons of one argument cannot be ANDed: runc
		 * then adds each as a rule of its own (an OR). */
		if (seen & (1U << cmp[i].arg))
			*separate = true;
		seen |= 1U << cmp[i].arg;
	}
	*n = (unsigned int)json_array_size(args);
	return 0;
}

static int add_call_rule(const struct profile *p, const char *where,
			 uint32_t action, const char *name,
			 const struct scmp_arg_cmp *cmp, unsigned int n,
			 bool separate)
{
	int nr = seccomp_syscall_resolve_name(name);
	int ret = 0;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown here: Docker skips it too */
	if (!separate)
		ret = seccomp_rule_add_array(p->ctx, action, nr, n, cmp);
	for (unsigned int i = 0; separate && i < n && ret == 0; i++)
		ret = seccomp_rule_add_array(p->ctx, action, nr, 1, &cmp[i]);
	if (ret < 0) {
		cmn_err_set(
			p->err, -ret,
			"seccomp profile %s: %s: libseccomp refuses the rule for %s",
			p->path, where, name);
		cmn_err_fix(p->err, "check the entry's action and args");
	}
	return ret;
}

static int parse_call(const struct profile *p, size_t idx, const json_t *call)
{
	cleanup_json json_t *names = NULL;
	struct scmp_arg_cmp cmp[6];
	unsigned int n = 0;
	bool applies = false, separate = false;
	uint32_t action = 0;
	char where[64];
	size_t i;
	json_t *v;
	int ret;

	snprintf(where, sizeof(where), "syscalls[%zu]", idx);
	if (!json_is_object(call))
		return bad(p, where, NULL, "must be an object");
	ret = call_names(p, where, call, &names);
	if (ret == 0)
		ret = parse_action(p, where, call, "action", "errnoRet",
				   &action);
	if (ret == 0)
		ret = call_args(p, where, call, cmp, &n, &separate);
	if (ret == 0)
		ret = rule_applies(p, where, call, &applies);
	if (ret < 0 || !applies || action == p->def)
		return ret;
	json_array_foreach(names, i, v)
	{
		ret = add_call_rule(p, where, action, json_string_value(v), cmp,
				    n, separate);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The whole document, with p->ctx not yet created. */
static int parse_profile(struct profile *p, const json_t *root)
{
	const json_t *archs = json_object_get(root, "architectures");
	const json_t *map = json_object_get(root, "archMap");
	const json_t *calls = json_object_get(root, "syscalls");
	size_t i;
	json_t *v;
	int ret;

	if (!json_is_object(root))
		return bad(p, "top level", NULL, "must be a JSON object");
	ret = parse_action(p, "top level", root, "defaultAction",
			   "defaultErrnoRet", &p->def);
	if (ret < 0)
		return ret;
	if (json_array_size(archs) > 0 && json_array_size(map) > 0)
		return bad(p, "architectures", "keep one of them",
			   "both architectures and archMap are given");
	if (calls && !json_is_null(calls) && !json_is_array(calls))
		return bad(p, "syscalls", NULL, "must be an array");
	p->ctx = ctx_new(p->def);
	if (!p->ctx)
		return cmn_err_set(p->err, errno,
				   "cannot start a seccomp filter");
	if (archs && !json_is_null(archs))
		ret = parse_architectures(p, archs);
	if (ret == 0 && map && !json_is_null(map))
		ret = parse_arch_map(p, map);
	json_array_foreach(calls, i, v)
	{
		if (ret < 0)
			break;
		ret = parse_call(p, i, v);
	}
	return ret;
}

static int read_profile(const char *path, uint64_t caps, scmp_filter_ctx *out,
			struct hutch_err *err)
{
	struct profile p = { .path = path, .caps = caps, .err = err };
	cleanup_json json_t *root =
		cmn_json_load(AT_FDCWD, path, "the seccomp profile",
			      PROFILE_MAX_BYTES, 0, err);
	int ret;

	if (!root) {
		ret = -errno;
		/* jansson holds integers as int64_t */
		if (ret == -EBADMSG && err &&
		    strstr(err->msg, "too big integer"))
			cmn_err_fix(
				err,
				"values above 9223372036854775807 are not supported");
		else if (ret == -EBADMSG)
			cmn_err_fix(err, "correct the JSON syntax");
		else if (ret == -EINVAL)
			cmn_err_fix(
				err,
				"correct it as Docker's profile format has it");
		else
			cmn_err_fix(err,
				    "give the path of a readable JSON file");
		/* a profile that is not JSON is as bad as any other */
		return ret == -EBADMSG ? -EINVAL : ret;
	}
	ret = parse_profile(&p, root);
	if (ret < 0) {
		if (p.ctx)
			seccomp_release(p.ctx);
		return ret;
	}
	*out = p.ctx;
	return 0;
}

/* ---- export and load ---------------------------------------------------- */

/* The program libseccomp built, read back through a memfd. */
static int export_bpf(scmp_filter_ctx ctx, struct sbx_bpf *out,
		      struct hutch_err *err)
{
	cleanup_close int fd = memfd_create("hutch-seccomp", MFD_CLOEXEC);
	cleanup_free struct sock_filter *insns = NULL;
	off_t size;
	ssize_t got;
	int ret;

	if (fd < 0)
		return cmn_err_set(
			err, errno,
			"cannot create a memfd for the seccomp program");
	ret = seccomp_export_bpf(ctx, fd);
	if (ret < 0)
		return cmn_err_set(err, -ret,
				   "cannot export the seccomp program");
	size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return cmn_err_set(err, errno,
				   "cannot size the seccomp program");
	if (size == 0 || size % (off_t)sizeof(*insns) != 0)
		return cmn_err_set(
			err, EIO, "libseccomp exported a program of %lld bytes",
			(long long)size);
	if (size / (off_t)sizeof(*insns) > BPF_MAXINSNS) {
		ret = cmn_err_set(
			err, E2BIG,
			"the seccomp filter has %lld instructions, more than the kernel's %d",
			(long long)(size / (off_t)sizeof(*insns)),
			BPF_MAXINSNS);
		cmn_err_fix(err, "remove rules from the profile");
		return ret;
	}
	insns = malloc((size_t)size);
	if (!insns)
		return cmn_err_set(err, ENOMEM,
				   "cannot export the seccomp program");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return cmn_err_set(err, errno,
				   "cannot read the seccomp program");
	got = cmn_read_all(fd, insns, (size_t)size);
	if (got != (ssize_t)size)
		return cmn_err_set(err, got < 0 ? (int)-got : EIO,
				   "cannot read the seccomp program");
	out->len = (size_t)size / sizeof(*insns);
	out->insns = steal_ptr(&insns);
	return 0;
}

int sbx_seccomp_compile(const char *profile, uint64_t caps, struct sbx_bpf *out,
			struct hutch_err *err)
{
	cleanup_ctx scmp_filter_ctx ctx = NULL;
	int ret;

	out->insns = NULL;
	out->len = 0;
	if (profile) {
		ret = read_profile(profile, caps, &ctx, err);
		if (ret < 0)
			return ret;
	} else {
		ctx = default_filter(caps, err);
		if (!ctx)
			return -errno;
	}
	ret = export_bpf(ctx, out, err);
	if (ret < 0 && profile)
		cmn_err_prefix(err, "seccomp profile %s", profile);
	return ret;
}

void sbx_bpf_free(struct sbx_bpf *bpf)
{
	free(bpf->insns);
	bpf->insns = NULL;
	bpf->len = 0;
}

/*
 * Async-signal-safe and allocation-free: it runs in the container's last
 * moments before execve. An empty program means unconfined.
 */
int sbx_seccomp_apply(const struct sbx_bpf *bpf)
{
	struct sock_fprog prog = {
		.len = (unsigned short)bpf->len,
		.filter = bpf->insns,
	};

	if (bpf->len == 0)
		return 0;
	if (bpf->len > BPF_MAXINSNS)
		return -E2BIG;
#ifdef SYS_seccomp
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	/* Kernels before 3.17 have only the prctl. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return -errno;
}
