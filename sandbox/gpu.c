// SPDX-License-Identifier: Apache-2.0
/* gpu.c - NVIDIA GPUs without a CDI spec: find the host's driver, and bind
 * its device nodes and user-space libraries (what --gpus does)
 *
 * Theory of operation. A rootless container cannot install a driver or
 * make device nodes; it must use the host's, at exactly the version of the
 * loaded kernel module. Without a CDI spec (cdi.c), hutch does what
 * Apptainer's --nv does, written from its description:
 *   - the driver: /proc/driver/nvidia/version (missing: no driver loaded);
 *   - the nodes: /dev/nvidiaN (the GPUs), nvidiactl, nvidia-modeset,
 *     nvidia-uvm and nvidia-uvm-tools (CUDA needs nvidia_uvm; without it
 *     every CUDA call fails with CUDA_ERROR_UNKNOWN, so its absence is
 *     said), and /dev/nvidia-caps/ (MIG's capabilities);
 *   - the libraries: a fixed list of the driver's sonames (libcuda,
 *     libnvidia-ml, libnvidia-ptxjitcompiler, libnvidia-nvvm, ...), found
 *     through the host's ldconfig cache (`ldconfig -p`; when it fails, a
 *     scan of the usual library directories), 64-bit ones only; each is
 *     bound read-only into one directory, /.hutch/gpu/lib (a tmpfs), which
 *     goes first on the command's LD_LIBRARY_PATH: an image's own libcuda
 *     (a CUDA "compat" package, a stale copy) cannot shadow the one that
 *     matches the kernel module;
 *   - the programs (nvidia-smi, ...) on /usr/bin of the container, and
 *     nvidia-persistenced's socket.
 * A node the caller cannot open is left out: in a Slurm job with
 * ConstrainDevices, the job's cgroup lets it open only its own GPUs, so
 * only those are bound; CUDA_VISIBLE_DEVICES is passed through as it is.
 *
 * The test seam: $HUTCH_GPU_ROOT, a directory taken as / for the driver's
 * files (proc/driver/nvidia/version, sys/module/nvidia_uvm, dev/nvidia*,
 * usr/bin/nvidia-smi, run/nvidia-persistenced/socket), whose ldconfig
 * cache is ROOT/etc/ld.so.cache; the library paths that cache holds are
 * used as they are. Tests put symbolic links to harmless nodes
 * (/dev/null) in ROOT/dev and stub libraries with the right sonames in a
 * cache they make with `ldconfig -C`, all without root.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

/* The driver's user-space libraries (the part of each soname before
 * ".so"). */
static const char *const driver_libs[] = {
	"libcuda",
	"libcudadebugger",
	"libnvidia-ml",
	"libnvidia-ptxjitcompiler",
	"libnvidia-nvvm",
	"libnvidia-opencl",
	"libnvidia-cfg",
	"libnvidia-allocator",
	"libnvidia-compiler",
	"libnvidia-gpucomp",
	"libnvidia-pkcs11",
	"libnvidia-pkcs11-openssl3",
	"libnvcuvid",
	"libnvidia-encode",
	"libnvidia-opticalflow",
	"libnvidia-fbc",
	"libnvoptix",
	"libnvidia-rtcore",
	"libnvidia-glcore",
	"libnvidia-tls",
	"libnvidia-glsi",
	"libnvidia-glvkspirv",
	"libnvidia-eglcore",
	"libGLX_nvidia",
	"libEGL_nvidia",
	"libGLESv2_nvidia",
	"libGLESv1_CM_nvidia",
	"libnvidia-fatbinaryloader",
};

static const char *const driver_bins[] = {
	"nvidia-smi",
	"nvidia-debugdump",
	"nvidia-persistenced",
	"nvidia-cuda-mps-control",
	"nvidia-cuda-mps-server",
};

static const char *const ctl_nodes[] = {
	"nvidiactl",
	"nvidia-modeset",
	"nvidia-uvm",
	"nvidia-uvm-tools",
};

#define GPU_LIB_DIR "/.hutch/gpu/lib"

const char *sbx_gpu_root(void)
{
	const char *r = getenv("HUTCH_GPU_ROOT");

	return r && *r ? r : "";
}

static char *rooted(const char *path)
{
	return cmn_strdup_printf("%s%s", sbx_gpu_root(), path);
}

static bool known_lib(const char *soname)
{
	size_t base = strcspn(soname, ".");

	if (strncmp(soname + base, ".so", 3) != 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(driver_libs); i++)
		if (strlen(driver_libs[i]) == base &&
		    !strncmp(soname, driver_libs[i], base))
			return true;
	return false;
}

static int push_lib(struct sbx_gpu_host *h, const char *soname,
		    const char *path)
{
	for (char **s = h->lib_names; s && *s; s++)
		if (!strcmp(*s, soname))
			return 0; /* the cache's first is the loader's */
	if (cmn_strv_push(&h->lib_names, strdup(soname)) < 0 ||
	    cmn_strv_push(&h->libs, strdup(path)) < 0)
		return -ENOMEM;
	return 0;
}

/* One line of `ldconfig -p`: "\tSONAME (FLAGS) => PATH". */
static int ldconfig_line(struct sbx_gpu_host *h, char *line)
{
	char *s = line + strspn(line, " \t"), *flags, *arrow, *path;

	flags = strstr(s, " (");
	arrow = strstr(s, ") => ");
	if (!flags || !arrow || arrow < flags)
		return 0;
	*flags = '\0';
	*arrow = '\0';
	path = arrow + 5;
	path[strcspn(path, "\n")] = '\0';
	/* 64-bit only: x86-64, AArch64, 64bit (ppc64le) */
	if (!strstr(flags + 2, "64") || !known_lib(s) || path[0] != '/')
		return 0;
	return push_lib(h, s, path);
}

static const char *ldconfig_path(void)
{
	static const char *const paths[] = { "/sbin/ldconfig",
					     "/usr/sbin/ldconfig" };

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Return: 0 when ldconfig ran and said something; -errno otherwise. */
static int from_ldconfig(struct sbx_gpu_host *h)
{
	const char *ldconfig = ldconfig_path();
	cleanup_free char *cache = rooted("/etc/ld.so.cache");
	cleanup_fclose FILE *out = NULL;
	char *line = NULL;
	size_t cap = 0;
	int p[2], status = 0, ret = 0;
	pid_t pid;

	if (!ldconfig || !cache)
		return -ENOENT;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2); /* its complaint is ours to word */
		execl(ldconfig, "ldconfig", "-p", "-C", cache, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	out = fdopen(p[0], "re");
	if (!out) {
		close(p[0]);
		ret = -errno;
	}
	while (out && ret == 0 && getline(&line, &cap, out) >= 0)
		ret = ldconfig_line(h, line);
	free(line);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		ret = -EIO;
	return ret;
}

/* ldconfig missing or broken (it happens on unusual hosts): look in the
 * usual directories for the sonames themselves. */
static int from_dirs(struct sbx_gpu_host *h)
{
	static const char *const dirs[] = {
		"/usr/lib64",
		"/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu",
		"/lib64",
		"/usr/lib",
	};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		cleanup_free char *dir = rooted(dirs[i]);
		cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
		struct dirent *e;

		while (d && (e = readdir(d))) {
			const char *so = strstr(e->d_name, ".so.");
			cleanup_free char *path = NULL;

			/* the soname: NAME.so.N, the major only */
			if (!so || !known_lib(e->d_name) || strchr(so + 4, '.'))
				continue;
			path = cmn_strdup_printf("%s/%s", dir, e->d_name);
			if (!path || push_lib(h, e->d_name, path) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static bool is_gpu_node(const char *name, int *index)
{
	char *end;
	long n;

	if (strncmp(name, "nvidia", 6) != 0 || !isdigit((unsigned char)name[6]))
		return false;
	n = strtol(name + 6, &end, 10);
	if (*end || n > 4096)
		return false;
	*index = (int)n;
	return true;
}

/*
 * May the caller use @path? In a Slurm job the job's device cgroup (with
 * ConstrainDevices) decides, and only open(2) asks it; elsewhere the
 * node's modes and ACLs do, and access(2) asks without opening: opening a
 * GPU's node initialises the GPU when persistence mode is off, about a
 * second each, which a job pays anyway and a login node should not.
 */
static bool usable(const char *path)
{
	int fd;

	if (!getenv("SLURM_JOB_ID"))
		return access(path, R_OK | W_OK) == 0;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int find_nodes(struct sbx_gpu_host *h)
{
	cleanup_free char *dev = rooted("/dev");
	struct dirent **names = NULL;
	int n = dev ? scandir(dev, &names, NULL, versionsort) : -1, ret = 0;

	for (int i = 0; i < n; i++) {
		cleanup_free char *path =
			cmn_strdup_printf("%s/%s", dev, names[i]->d_name);
		int index;

		if (ret == 0 && path && is_gpu_node(names[i]->d_name, &index)) {
			if (!usable(path)) {
				h->n_closed++;
			} else if (cmn_strv_push(&h->gpus, steal_ptr(&path)) <
				   0) {
				ret = -ENOMEM;
			} else {
				h->indexes[h->n_gpus++] = index;
			}
		}
		free(names[i]);
		if (h->n_gpus == SBX_GPU_MAX)
			break;
	}
	free(names);
	return ret;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int find_ctl(struct sbx_gpu_host *h)
{
	cleanup_free char *uvm_mod = rooted("/sys/module/nvidia_uvm");
	cleanup_free char *caps = rooted("/dev/nvidia-caps");
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	h->uvm = uvm_mod && exists(uvm_mod);
	for (size_t i = 0; i < ARRAY_SIZE(ctl_nodes); i++) {
		char *p = cmn_strdup_printf("%s/dev/%s", sbx_gpu_root(),
					    ctl_nodes[i]);

		if (!p)
			return -ENOMEM;
		if (!exists(p)) {
			free(p);
			continue;
		}
		if (!strcmp(ctl_nodes[i], "nvidia-uvm"))
			h->uvm = true;
		if (cmn_strv_push(&h->ctl, p) < 0)
			return -ENOMEM;
	}
	d = caps ? opendir(caps) : NULL;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    cmn_strv_push(&h->ctl, cmn_strdup_printf("%s/%s", caps,
							     e->d_name)) < 0)
			return -ENOMEM;
	return 0;
}

static int find_bins(struct sbx_gpu_host *h)
{
	static const char *const dirs[] = { "/usr/bin", "/bin",
					    "/usr/local/bin", "/usr/sbin" };

	for (size_t b = 0; b < ARRAY_SIZE(driver_bins); b++)
		for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
			char *p = cmn_strdup_printf("%s%s/%s", sbx_gpu_root(),
						    dirs[i], driver_bins[b]);

			if (p && access(p, X_OK) == 0) {
				if (cmn_strv_push(&h->bins, p) < 0)
					return -ENOMEM;
				break;
			}
			free(p);
		}
	h->persistenced = rooted("/run/nvidia-persistenced/socket");
	if (h->persistenced && !exists(h->persistenced)) {
		free(h->persistenced);
		h->persistenced = NULL;
	}
	return 0;
}

static char *driver_version(const char *file)
{
	cleanup_free char *text = cmn_read_fileat(AT_FDCWD, file, 65536, NULL);
	const char *k = text ? strstr(text, "Kernel Module") : NULL;
	size_t len;

	/* "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  ..." */
	if (!k)
		return text ? strdup("unknown") : NULL;
	k += strlen("Kernel Module");
	k += strspn(k, " \t");
	len = strcspn(k, " \t\n");
	return len ? strndup(k, len) : strdup("unknown");
}

int sbx_gpu_detect(struct sbx_gpu_host *h, struct hutch_err *err)
{
	cleanup_free char *version = rooted("/proc/driver/nvidia/version");
	int ret;

	memset(h, 0, sizeof(*h));
	if (!version)
		return -ENOMEM;
	h->version = driver_version(version);
	if (!h->version)
		return cmn_err_msg(
			err, ENODEV,
			"no NVIDIA driver on this host: %s is missing (the nvidia kernel module is not loaded); run on a GPU node, or ask for the driver to be loaded",
			version);
	ret = find_nodes(h);
	ret = ret ?: find_ctl(h);
	ret = ret ?: find_bins(h);
	if (ret == 0 && from_ldconfig(h) < 0) {
		h->ldconfig_failed = true;
		ret = from_dirs(h);
	}
	if (ret < 0) {
		sbx_gpu_host_free(h);
		return cmn_err_set(err, -ret, "GPU detection");
	}
	return 0;
}

void sbx_gpu_host_free(struct sbx_gpu_host *h)
{
	free(h->version);
	cmn_strv_free(h->gpus);
	cmn_strv_free(h->ctl);
	cmn_strv_free(h->libs);
	cmn_strv_free(h->lib_names);
	cmn_strv_free(h->bins);
	free(h->persistenced);
	memset(h, 0, sizeof(*h));
}

static int bind(struct sbx_config *cfg, const char *src, const char *dst,
		bool ro)
{
	return sbx_config_add_bind(cfg, src, dst, ro, false);
}

/* The container path of a host node: ROOT/dev/X -> /dev/X. */
static const char *unrooted(const char *path)
{
	return path + strlen(sbx_gpu_root());
}

int sbx_gpu_apply(struct sbx_config *cfg, const struct sbx_gpu_host *h,
		  const bool *chosen, struct hutch_err *err)
{
	struct sbx_mount *m;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < h->n_gpus; i++)
		if (chosen[i])
			ret = bind(cfg, h->gpus[i], unrooted(h->gpus[i]),
				   false);
	for (char **c = h->ctl; ret == 0 && c && *c; c++)
		ret = bind(cfg, *c, unrooted(*c), false);
	for (char **b = h->bins; ret == 0 && b && *b; b++) {
		cleanup_free char *dst =
			cmn_strdup_printf("/usr/bin/%s", strrchr(*b, '/') + 1);

		ret = dst ? bind(cfg, *b, dst, true) : -ENOMEM;
	}
	if (ret == 0 && h->persistenced)
		ret = bind(cfg, h->persistenced,
			   "/run/nvidia-persistenced/socket", false);
	if (ret == 0 && h->libs) {
		/* a tmpfs of its own, so nothing of it is left in the root */
		ret = sbx_config_add_bind(cfg, "/", GPU_LIB_DIR, true, false);
		if (ret == 0) {
			m = &cfg->mounts[cfg->n_mounts - 1];
			free(m->src);
			m->src = NULL;
			m->kind = SBX_MOUNT_TMPFS;
			m->read_only = false;
			m->flags = MS_NOSUID | MS_NODEV;
			m->data = strdup("mode=755,size=1m");
			if (!m->data)
				ret = -ENOMEM;
		}
	}
	for (size_t i = 0; ret == 0 && h->libs && h->libs[i]; i++) {
		cleanup_free char *dst =
			cmn_strdup_printf(GPU_LIB_DIR "/%s", h->lib_names[i]);

		ret = dst ? bind(cfg, h->libs[i], dst, true) : -ENOMEM;
	}
	if (ret == 0 && h->libs) {
		free(cfg->lib_path_first);
		cfg->lib_path_first = strdup(GPU_LIB_DIR);
		if (!cfg->lib_path_first)
			ret = -ENOMEM;
	}
	return ret < 0 ? cmn_err_set(err, -ret, "--gpus") : 0;
}
