// SPDX-License-Identifier: Apache-2.0
/* squashfs.c - images as single squashfs files: `save --format squashfs`,
 * and `load`/`import` of such a file
 *
 * hutch does not link libsquashfs: the helper hutch-squashfs
 * (squashfs/main.c) writes, checks and unpacks the files, found like the
 * other helpers. Writing and unpacking run it as root of the containers'
 * user namespace (sbx_userns_call), so that the owners it reads from the
 * layers, or gives the files it makes, are the container's ids in either
 * mapping. The file carries, after the squashfs image, a JSON document
 * {"name": NAME, "config": CONFIG} (the image's config as the store has
 * it) and a footer with the sha256 of everything before it
 * (squashfs/trailer.c).
 *
 * Loading such a file makes a one-layer image of its tree (img_import()),
 * with the config's "config" object (Cmd, Env, WorkingDir, ...): the
 * file has no layer history to give back.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "image/image.h"
#include "image/store-internal.h"
#include "sandbox/sandbox.h"
#include "common/json-cleanup.h"

extern char **environ;

struct helper_job {
	char **argv;
	const char *input; /* standard input's content, or NULL */
	char *output;	   /* standard output, when wanted (owned) */
	bool want_output;
};

static int memfd_with(const char *name, const char *data)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (data && (cmn_write_all(fd, data, strlen(data)) < 0 ||
		     lseek(fd, 0, SEEK_SET) < 0)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* The whole content of the memfd @fd, NUL-terminated (owned). */
static char *memfd_text(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;

	if (buf && pread(fd, buf, (size_t)len, 0) != len) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* The helper's one-line message from its standard error, "hutch-squashfs:
 * " and the newline taken off; else its last line (a sanitizer's). */
static int helper_failed(int errfd, int status, struct hutch_err *err)
{
	cleanup_free char *text = memfd_text(errfd);
	char *msg = text ? strstr(text, "hutch-squashfs: ") : NULL, *nl;

	if (msg) {
		msg += 16;
	} else if (text) {
		while (*text && text[strlen(text) - 1] == '\n')
			text[strlen(text) - 1] = '\0';
		msg = strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
	}
	if (msg && (nl = strchr(msg, '\n')))
		*nl = '\0';
	return cmn_err_msg(
		err, status == 1 ? EINVAL : EIO, "%s",
		msg && *msg ? msg : "hutch-squashfs failed without a message");
}

/* Run hutch-squashfs with @j's arguments; 0 when it exits 0. */
static int run_helper(struct helper_job *j, struct hutch_err *err)
{
	posix_spawn_file_actions_t fa;
	int in = -1, out = -1, errfd = -1, ws = 0, ret;
	pid_t pid;

	in = memfd_with("hutch-sqfs-in", j->input ? j->input : "");
	out = memfd_with("hutch-sqfs-out", NULL);
	errfd = memfd_with("hutch-sqfs-err", NULL);
	if (in < 0 || out < 0 || errfd < 0) {
		ret = cmn_err_set(err, errno, "cannot run hutch-squashfs");
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	ret = posix_spawn(&pid, j->argv[0], &fa, NULL, j->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		ret = cmn_err_set(err, ret, "cannot run %s", j->argv[0]);
		goto done;
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		ret = helper_failed(errfd,
				    WIFEXITED(ws) ? WEXITSTATUS(ws) : 125, err);
	else if (j->want_output && !(j->output = memfd_text(out)))
		ret = cmn_err_set(err, ENOMEM, "hutch-squashfs");
done:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (errfd >= 0)
		close(errfd);
	return ret;
}

static int helper_in_userns(void *arg, void *out, struct hutch_err *err)
{
	(void)out;
	return run_helper(arg, err);
}

/* "name" and "config" of the image as one JSON document (owned). */
static char *document(const struct img_image *img, const char *name,
		      struct hutch_err *err)
{
	json_t *cfg = json_loadb(img->config_json, img->config_len, 0, NULL);
	json_t *doc = cfg ? json_pack("{s:i,s:s?,s:o}", "hutch.squashfs", 1,
				      "name", name, "config", cfg)
			  : NULL;
	char *text =
		doc ? json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT) : NULL;

	json_decref(doc);
	if (!text)
		cmn_err_msg(err, EINVAL,
			    "cannot write the config of image %.12s as JSON",
			    img->id.hex);
	return text;
}

static int save_layers(struct img_store *s, const struct img_image *img,
		       const char *helper, const char *tmp, const char *doc,
		       struct hutch_err *err)
{
	char **argv = calloc(img->n_layers + 6, sizeof(*argv));
	char mtime[32];
	size_t n = 0;
	int ret = 0;

	if (!argv)
		return cmn_err_set(err, ENOMEM, "save");
	snprintf(mtime, sizeof(mtime), "%lld",
		 (long long)(img->created > 0 ? img->created : 0));
	argv[n++] = (char *)helper;
	argv[n++] = "pack";
	argv[n++] = "--mtime";
	argv[n++] = mtime;
	argv[n++] = (char *)tmp;
	for (size_t i = 0; ret == 0 && i < img->n_layers; i++) {
		argv[n] = cmn_strdup_printf("%s/layers/%s/diff", s->root,
					    img->layers[i].chain.hex);
		if (!argv[n])
			ret = cmn_err_set(err, ENOMEM, "save");
		else if (access(argv[n++], F_OK) < 0)
			ret = cmn_err_msg(
				err, ENOENT,
				"layer %.12s of image %.12s is missing from the store; pull the image again",
				img->layers[i].chain.hex, img->id.hex);
	}
	if (ret == 0) {
		struct helper_job j = { .argv = argv, .input = doc };

		ret = sbx_userns_call(SBX_USERNS_AUTO, helper_in_userns, &j,
				      NULL, 0, err);
	}
	for (size_t i = 5; i < n; i++)
		free(argv[i]);
	free(argv);
	return ret;
}

/* @from's bytes into a new file @to. */
static int copy_file(const char *from, const char *to, struct hutch_err *err)
{
	cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC);
	cleanup_close int out =
		open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return cmn_err_set(err, errno, "cannot open %s", from);
	if (out < 0)
		return cmn_err_set(err, errno, "cannot create %s", to);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (cmn_write_all(out, buf, (size_t)n) < 0)
			return cmn_err_set(err, errno, "cannot write %s", to);
	if (n < 0)
		return cmn_err_set(err, errno, "cannot read %s", from);
	return 0;
}

int img_save_squashfs(struct img_store *s, const char *key, const char *out,
		      struct hutch_err *err)
{
	struct img_image *img = NULL;
	cleanup_free char *helper = NULL, *tmp = NULL, *doc = NULL;
	struct img_digest id;
	struct img_ref ref;
	char *name = NULL;
	int ret = img_resolve(s, key, &id, err);

	if (ret == -ENOENT)
		return cmn_err_msg(err, ENOENT, "No such image: %s", key);
	if (ret == 0)
		ret = img_image_load(s, &id, &img, err);
	if (ret == 0 && !cmn_has_prefix(img->id.hex, key) &&
	    img_ref_parse(key, &ref, NULL) == 0) {
		name = img_ref_str(&ref);
		img_ref_free(&ref);
	}
	if (ret == 0 && !img->squashfs && !(doc = document(img, name, err)))
		ret = -EINVAL;
	if (ret == 0)
		ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs",
				      &helper, err);
	if (ret == 0 &&
	    asprintf(&tmp, "%s.hutch-tmp-%d", out, (int)getpid()) < 0) {
		tmp = NULL;
		ret = cmn_err_set(err, ENOMEM, "save");
	}
	/* Kept in squashfs form: the store's file is the image (saved
	 * without a name). */
	if (ret == 0 && img->squashfs)
		ret = copy_file(img->squashfs, tmp, err);
	else if (ret == 0)
		ret = save_layers(s, img, helper, tmp, doc, err);
	if (ret == 0 && rename(tmp, out) < 0)
		ret = cmn_err_set(err, errno, "cannot write %s", out);
	if (ret < 0 && tmp)
		unlink(tmp);
	free(name);
	img_image_free(img);
	return ret;
}

bool img_is_squashfs(int fd)
{
	char magic[4];

	return pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	       !memcmp(magic, "hsqs", 4);
}

/* The file's document, verified: its name and "config" object. */
static int read_document(const char *helper, const char *path, char **name,
			 char **config, struct hutch_err *err)
{
	char *argv[] = { (char *)helper, "verify", (char *)path, NULL };
	struct helper_job j = { .argv = argv, .want_output = true };
	json_t *doc, *c;
	int ret = run_helper(&j, err);

	if (ret < 0)
		return ret;
	doc = json_loads(j.output, 0, NULL);
	free(j.output);
	c = json_object_get(doc, "config");
	c = json_object_get(c, "config");
	if (!json_is_object(json_object_get(doc, "config"))) {
		json_decref(doc);
		return cmn_err_msg(
			err, EINVAL,
			"%s has no image config; save it again with hutch save --format squashfs",
			path);
	}
	*name = json_is_string(json_object_get(doc, "name"))
			? strdup(json_string_value(
				  json_object_get(doc, "name")))
			: NULL;
	*config = json_dumps(c ? c : json_object(), JSON_COMPACT);
	json_decref(doc);
	return *config ? 0 : cmn_err_set(err, ENOMEM, "load");
}

bool img_squashfs_path(const char *arg)
{
	size_t len = strlen(arg);
	cleanup_close int fd = -1;
	struct stat st;

	if (!strchr(arg, '/') && (len < 5 || strcmp(arg + len - 5, ".sqsh")))
		return false;
	fd = open(arg, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       img_is_squashfs(fd);
}

int img_squashfs_prune_verified(struct img_store *s, size_t *n,
				struct hutch_err *err)
{
	cleanup_free char *helper = NULL;
	cleanup_free char *dir =
		cmn_strdup_printf("%s/squashfs-verified", s->root);
	char *argv[] = { NULL, "prune-verified", dir, NULL };
	struct helper_job j = { .argv = argv, .want_output = true };
	struct stat st;
	int ret;

	*n = 0;
	if (!dir)
		return cmn_err_set(err, ENOMEM, "prune");
	/* Nothing to prune, or nothing that could have made it. */
	if (stat(dir, &st) < 0 ||
	    sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs", &helper, NULL) <
		    0)
		return 0;
	argv[0] = helper;
	ret = run_helper(&j, err);
	if (ret == 0)
		*n = strtoul(j.output, NULL, 10);
	free(j.output);
	return ret;
}

/* The config of the document @text (hutch-squashfs verify's or config's
 * output) as the store keeps it, the id it gives, and the name saved in
 * it (may be NULL). */
static int document_id(const char *text, const char *path, char **cfg,
		       struct img_digest *id, char **name,
		       struct hutch_err *err)
{
	cleanup_json json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	const json_t *c = json_object_get(doc, "config");
	int ret;

	*cfg = NULL;
	*name = NULL;
	if (!json_is_object(c))
		return cmn_err_msg(
			err, EINVAL,
			"%s has no image config; save it again with hutch save --format squashfs",
			path);
	/* Sorted and compact: the same file, the same id, however its
	 * document was written. */
	*cfg = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
	if (!*cfg)
		return cmn_err_set(err, ENOMEM, "load");
	ret = img_sha256_buf(*cfg, strlen(*cfg), id);
	if (ret < 0)
		return cmn_err_set(err, -ret, "%s", path);
	if (json_is_string(json_object_get(doc, "name")) &&
	    !(*name = strdup(json_string_value(json_object_get(doc, "name")))))
		return cmn_err_set(err, ENOMEM, "load");
	return 0;
}

int img_squashfs_image(const char *path, struct img_image **out,
		       struct hutch_err *err)
{
	cleanup_free char *helper = NULL, *name = NULL;
	char *argv[] = { NULL, "config", (char *)path, NULL };
	struct helper_job j = { .argv = argv, .want_output = true };
	struct img_image *img = calloc(1, sizeof(*img));
	int ret = img ? sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs",
					&helper, err)
		      : cmn_err_set(err, ENOMEM, "%s", path);

	argv[0] = helper;
	if (ret == 0)
		ret = run_helper(&j, err);
	if (ret == 0)
		ret = document_id(j.output, path, &img->config_json, &img->id,
				  &name, err);
	free(j.output);
	if (ret < 0) {
		img_image_free(img);
		return ret;
	}
	img->config_len = strlen(img->config_json);
	*out = img;
	return 0;
}

/* Verify .sqsh @path and unpack its tree, as root of the containers' user
 * namespace, into @rootfs (set), "rootfs" of a new temporary directory
 * @tmp (set; "@what-..." under the store's tmp/, which the caller
 * removes). */
static int unpack_tmp(struct img_store *s, const char *helper, const char *path,
		      const char *what, char **tmp, char **rootfs,
		      struct hutch_err *err)
{
	char *argv[] = { (char *)helper, "unpack", (char *)path, NULL, NULL };
	struct helper_job j = { .argv = argv };

	*tmp = img_store_tmpdir(s, what, err);
	if (!*tmp)
		return -EIO;
	*rootfs = cmn_strdup_printf("%s/rootfs", *tmp);
	if (!*rootfs)
		return cmn_err_set(err, ENOMEM, "unpack");
	if (mkdir(*rootfs, 0755) < 0)
		return cmn_err_set(err, errno, "cannot make %s", *rootfs);
	argv[3] = *rootfs;
	return sbx_userns_call(SBX_USERNS_AUTO, helper_in_userns, &j, NULL, 0,
			       err);
}

int img_load_squashfs(struct img_store *s, const char *path, const char *config,
		      const char *message, char **name, struct img_digest *id,
		      struct hutch_err *err)
{
	cleanup_free char *helper = NULL, *cfg = NULL, *tmp = NULL,
			  *rootfs = NULL;
	int ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs", &helper,
				  err);

	*name = NULL;
	if (ret == 0)
		ret = read_document(helper, path, name, &cfg, err);
	if (ret == 0)
		ret = unpack_tmp(s, helper, path, "sqfs", &tmp, &rootfs, err);
	if (ret == 0)
		ret = img_import(s, rootfs, -1, config ? config : cfg,
				 message ? message
					 : "loaded from a squashfs image",
				 id, err);
	if (tmp)
		img_store_remove(s, tmp + strlen(s->root) + 1, NULL);
	if (ret < 0) {
		free(*name);
		*name = NULL;
	}
	return ret;
}

/* fsync the file @path (relative to the root); @size set to its size. */
static int sync_file(struct img_store *s, const char *path, uint64_t *size)
{
	cleanup_close int fd =
		openat(s->rootfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || fsync(fd) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

static void sync_dir(struct img_store *s, const char *dir)
{
	cleanup_close int fd =
		openat(s->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0)
		fsync(fd);
}

/* @err's message about the file @from, told of @to (the user's file, not
 * the store's copy of it). */
static void rename_in_msg(struct hutch_err *err, const char *from,
			  const char *to)
{
	char *at = err ? strstr(err->msg, from) : NULL;
	char rest[sizeof(err->msg)];

	if (!at)
		return;
	snprintf(rest, sizeof(rest), "%s", at + strlen(from));
	snprintf(at, sizeof(err->msg) - (size_t)(at - err->msg), "%s%s", to,
		 rest);
}

int img_squashfs_digest(const char *path, char hex[static 65])
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char d[32];
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 64 + (off_t)sizeof(d) ||
	    pread(fd, d, sizeof(d), st.st_size - (off_t)sizeof(d)) !=
		    (ssize_t)sizeof(d))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* Is image @id in the store? Held from here on if so. @adopted: set to
 * whether a .sqsh file brought it; @digest: when not NULL, true only if it
 * is kept as a file whose footer digest is @digest (the same bytes). */
static bool have_image(struct img_store *s, const struct img_digest *id,
		       const char *digest, bool *adopted)
{
	struct img_image *img = NULL;
	char hex[65];
	bool have = img_image_load(s, id, &img, NULL) == 0 &&
		    store_hold(s, STORE_HOLD_IMAGE, id) == 0;

	*adopted = have && img->adopted;
	if (have && digest)
		have = img->squashfs &&
		       img_squashfs_digest(img->squashfs, hex) == 0 &&
		       !strcmp(hex, digest);
	img_image_free(img);
	return have;
}

int img_adopt_squashfs(struct img_store *s, const char *path, char **name,
		       struct img_digest *id, struct hutch_err *err)
{
	cleanup_free char *helper = NULL, *abs = NULL, *cfg = NULL;
	char *argv[] = { NULL, "config", (char *)path, NULL };
	struct helper_job j = { .argv = argv, .want_output = true };
	char tmp[96], final[128], digest[65];
	bool adopted = false;
	uint64_t size = 0;
	int ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs", &helper,
				  err);

	*name = NULL;
	argv[0] = helper;
	/* The same bytes in the store already (its document and footer
	 * read, not the rest): nothing to copy or check. */
	if (ret == 0 && img_squashfs_digest(path, digest) == 0 &&
	    run_helper(&j, NULL) == 0 &&
	    document_id(j.output, path, &cfg, id, name, NULL) == 0 &&
	    have_image(s, id, digest, &adopted)) {
		free(j.output);
		return 0;
	}
	free(j.output);
	j.output = NULL;
	free(*name);
	*name = NULL;
	free(cfg);
	cfg = NULL;
	if (ret == 0 && store_tmp_name(tmp, ".sqsh") < 0)
		ret = cmn_err_set(err, EIO, "cannot name a temporary file");
	if (ret == 0 && !(abs = cmn_strdup_printf("%s/%s", s->root, tmp)))
		ret = cmn_err_set(err, ENOMEM, "load");
	/* The copy is what is verified and kept: a file changed after its
	 * check could not slip in. */
	if (ret == 0)
		ret = copy_file(path, abs, err);
	if (ret == 0 && (ret = sync_file(s, tmp, &size)) < 0)
		cmn_err_set(err, -ret, "cannot write %s", abs);
	argv[1] = "verify";
	argv[2] = abs;
	if (ret == 0 && (ret = run_helper(&j, err)) < 0)
		rename_in_msg(err, abs, path);
	if (ret == 0)
		ret = document_id(j.output, path, &cfg, id, name, err);
	free(j.output);
	if (ret == 0 && (ret = store_hold(s, STORE_HOLD_IMAGE, id)) == -ENOENT)
		ret = 0;
	if (ret < 0 && !err->code)
		cmn_err_set(err, -ret, "cannot protect image %s", id->hex);
	snprintf(final, sizeof(final), STORE_SQSH_DIR "/%s.sqsh",
		 ret == 0 ? id->hex : "");
	/* Made from its layers (pulled, built): that one stands, bound to
	 * them. Brought by another file of the same config: this one takes
	 * its place, as a load does with a name. */
	if (ret == 0 && have_image(s, id, NULL, &adopted) && !adopted) {
		unlinkat(s->rootfd, tmp, 0);
		abs[0] = '\0';
	} else if (ret == 0) {
		if (mkdirat(s->rootfd, STORE_SQSH_DIR, 0700) < 0 &&
		    errno != EEXIST)
			ret = cmn_err_set(err, errno,
					  "cannot create %s/" STORE_SQSH_DIR,
					  s->root);
		if (ret == 0 && renameat(s->rootfd, tmp, s->rootfd, final) < 0)
			ret = cmn_err_set(err, errno,
					  "cannot move %s into place", abs);
		if (ret == 0) {
			abs[0] = '\0';
			sync_dir(s, STORE_SQSH_DIR);
			ret = store_record_adopted(s, id, cfg, size, err);
			if (ret < 0 && !adopted)
				unlinkat(s->rootfd, final, 0);
		}
	}
	if (ret < 0 && abs && *abs)
		unlinkat(s->rootfd, tmp, 0);
	if (ret < 0) {
		free(*name);
		*name = NULL;
	}
	return ret;
}

/* ---- the store's squashfs form -------------------------------------------- */

int img_store_format(struct img_store *s, bool *squashfs, struct hutch_err *err)
{
	return sbx_image_format(s->root, squashfs, NULL, err);
}

int store_squashfs_verify(const char *path, struct hutch_err *err)
{
	cleanup_free char *helper = NULL;
	char *argv[] = { NULL, "verify", (char *)path, NULL };
	struct helper_job j = { .argv = argv, .want_output = true };
	int ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs", &helper,
				  err);

	argv[0] = helper;
	if (ret == 0)
		ret = run_helper(&j, err);
	free(j.output);
	return ret;
}

/* Its layers and layer blobs, unless something else uses them. */
static void release_layers(struct img_store *s, const struct img_image *img)
{
	struct img_digest *blobs = calloc(img->n_layers + 1, sizeof(*blobs));
	struct img_digest *chains = calloc(img->n_layers + 1, sizeof(*chains));

	for (size_t i = 0; blobs && chains && i < img->n_layers; i++) {
		blobs[i] = img->layers[i].blob;
		chains[i] = img->layers[i].chain;
	}
	if (blobs && chains)
		store_discard(s, blobs, img->n_layers, chains, img->n_layers);
	free(blobs);
	free(chains);
}

int img_image_pack(struct img_store *s, const struct img_digest *id,
		   bool keep_layers, struct hutch_err *err)
{
	struct img_image *img = NULL;
	cleanup_free char *helper = NULL, *doc = NULL, *abs = NULL;
	char tmp[96], final[128];
	uint64_t size = 0;
	int ret = img_image_load(s, id, &img, err);

	if (ret < 0 || img->squashfs) {
		img_image_free(img);
		return ret;
	}
	ret = store_hold(s, STORE_HOLD_IMAGE, id);
	if (ret == -ENOENT)
		ret = 0;
	if (ret < 0)
		cmn_err_set(err, -ret, "cannot protect image %s", id->hex);
	if (ret == 0 && !(doc = document(img, NULL, err)))
		ret = -EINVAL;
	if (ret == 0)
		ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs",
				      &helper, err);
	if (ret == 0 && store_tmp_name(tmp, ".sqsh") < 0)
		ret = cmn_err_set(err, EIO, "cannot name a temporary file");
	if (ret == 0 && !(abs = cmn_strdup_printf("%s/%s", s->root, tmp)))
		ret = cmn_err_set(err, ENOMEM, "pack");
	if (ret == 0)
		ret = save_layers(s, img, helper, abs, doc, err);
	if (ret == 0 && (ret = sync_file(s, tmp, &size)) < 0)
		cmn_err_set(err, -ret, "cannot write %s", abs);
	snprintf(final, sizeof(final), STORE_SQSH_DIR "/%s.sqsh", id->hex);
	if (ret == 0 && mkdirat(s->rootfd, STORE_SQSH_DIR, 0700) < 0 &&
	    errno != EEXIST)
		ret = cmn_err_set(err, errno,
				  "cannot create %s/" STORE_SQSH_DIR, s->root);
	if (ret == 0 && renameat(s->rootfd, tmp, s->rootfd, final) < 0)
		ret = cmn_err_set(err, errno, "cannot move %s into place", abs);
	if (ret == 0) {
		sync_dir(s, STORE_SQSH_DIR);
		ret = store_record_squashfs(s, id, size, keep_layers, err);
	}
	/* The record names the file now: the layers can go. */
	if (ret == 0 && !keep_layers)
		release_layers(s, img);
	if (ret < 0 && abs)
		unlinkat(s->rootfd, tmp, 0);
	img_image_free(img);
	return ret;
}

int img_image_flat_layer(struct img_store *s, const struct img_image *img,
			 struct img_layer_info *out, struct hutch_err *err)
{
	cleanup_free char *helper = NULL, *tmp = NULL, *rootfs = NULL;
	int ret = sbx_helper_path("HUTCH_SQUASHFS", "hutch-squashfs", &helper,
				  err);

	memset(out, 0, sizeof(*out));
	if (ret == 0)
		ret = unpack_tmp(s, helper, img->squashfs, "flat", &tmp,
				 &rootfs, err);
	if (ret == 0)
		ret = img_layer_from_dir(s, rootfs, NULL, out, err);
	if (tmp)
		img_store_remove(s, tmp + strlen(s->root) + 1, NULL);
	return ret;
}
