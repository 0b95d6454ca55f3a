// SPDX-License-Identifier: Apache-2.0
/* auth.c - registry credentials: `hutch login`'s file, and Docker's and
 * podman's as fallbacks
 *
 * hutch keeps credentials in ${XDG_CONFIG_HOME:-~/.config}/hutch/auth.json,
 * in the format of Docker's config.json so that either tool can read the
 * other's:
 *
 *   { "auths": { "https://index.docker.io/v1/": { "auth": "<base64 u:p>" },
 *                "registry.lab:5000": { "auth": "..." } } }
 *
 * The file is private (0600 in a 0700 directory) and replaced atomically
 * (a temporary file in the same directory, fsync, rename), so a crash never
 * leaves half a file and other entries and keys survive a login. Lookups
 * read hutch's file, then $REGISTRY_AUTH_FILE (podman's), then
 * ${DOCKER_CONFIG:-~/.docker}/config.json. Docker's credential helpers
 * (credsStore, credHelpers) are programs hutch does not run; entries kept
 * only there are not found.
 *
 * Server names are compared in a normal form: Docker Hub's many spellings
 * are "docker.io"; others are host[:port] without scheme or path.
 */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/registry-internal.h"
#include "common/json-cleanup.h"

#define AUTH_FILE_MAX (4u << 20)

char *reg_base64_encode(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *reg_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out;
	int got, pad = 0;

	if (n % 4 || n > (1u << 20))
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. More than two
	 * '=' is no padding base64 has ("====" decoded to 3 bytes, and 4
	 * taken off wrote before the buffer; found by tests/fuzz). */
	for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
		pad++;
	if (pad > 2) {
		free(out);
		return NULL;
	}
	got -= pad;
	out[got] = '\0';
	*len = (size_t)got;
	return (char *)out;
}

static bool is_hub(const char *host)
{
	static const char *const names[] = { "docker.io", "index.docker.io",
					     "registry-1.docker.io",
					     "registry.hub.docker.com" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(host, names[i]))
			return true;
	return false;
}

char *reg_auth_key(const char *server)
{
	const char *p = server ? server : "docker.io";
	char *host;

	if (cmn_has_prefix(p, "https://"))
		p += 8;
	else if (cmn_has_prefix(p, "http://"))
		p += 7;
	host = strndup(p, strcspn(p, "/"));
	if (host && is_hub(host)) {
		free(host);
		host = strdup("docker.io");
	}
	return host;
}

char *img_registry_display(const char *server)
{
	cleanup_free char *key = reg_auth_key(server);

	if (!key)
		return NULL;
	if (!strcmp(key, "docker.io"))
		return strdup("https://index.docker.io/v1/");
	return steal_ptr(&key);
}

static char *config_file(const char *env_dir, const char *home_rel,
			 const char *name)
{
	const char *dir = getenv(env_dir);
	const char *home = getenv("HOME");

	if (dir && *dir == '/')
		return cmn_strdup_printf("%s/%s", dir, name);
	if (home && *home)
		return cmn_strdup_printf("%s/%s/%s", home, home_rel, name);
	errno = ENOENT;
	return NULL;
}

char *reg_auth_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");

	const char *home = getenv("HOME");

	if (xdg && *xdg == '/')
		return cmn_strdup_printf("%s/hutch/auth.json", xdg);
	if (home && *home)
		return cmn_strdup_printf("%s/.config/hutch/auth.json", home);
	errno = ENOENT;
	return NULL;
}

/* The whole file as JSON; an empty object when it does not exist. */
static json_t *load_file(const char *path, struct hutch_err *err)
{
	json_t *root = cmn_json_load(AT_FDCWD, path, "the credentials file",
				     AUTH_FILE_MAX, CMN_JSON_SECRET, err);

	if (!root && (errno == ENOENT || errno == ENOTDIR))
		return json_object();
	if (!root && (errno == EBADMSG || errno == EINVAL))
		cmn_err_fix(err, "fix or remove it");
	return root;
}

/* An "auths" entry into user and password. */
static int entry_creds(const json_t *entry, char **user, char **pass)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *u = json_string_value(json_object_get(entry, "username"));
	const char *p = json_string_value(json_object_get(entry, "password"));
	cleanup_free char *plain = NULL;
	size_t len = 0;
	char *colon;

	if (auth && *auth) {
		plain = reg_base64_decode(auth, &len);
		colon = plain ? memchr(plain, ':', len) : NULL;
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		*user = strdup(plain);
		*pass = strdup(colon + 1);
		explicit_bzero(plain, len);
	} else if (u && p) {
		*user = strdup(u);
		*pass = strdup(p);
	} else {
		return -ENOENT;
	}
	if (!*user || !*pass) {
		free(*user);
		free(*pass);
		return -ENOMEM;
	}
	return 0;
}

static int lookup_in(const char *path, const char *key, char **user,
		     char **pass, struct hutch_err *err)
{
	cleanup_json json_t *root = load_file(path, err);
	const json_t *auths = json_object_get(root, "auths");
	const char *name;
	json_t *entry;

	if (!root)
		return -EINVAL;
	json_object_foreach((json_t *)auths, name, entry)
	{
		cleanup_free char *k = reg_auth_key(name);
		int ret;

		if (!k || strcmp(k, key))
			continue;
		ret = entry_creds(entry, user, pass);
		if (ret == -EINVAL)
			return cmn_err_msg(
				err, EINVAL,
				"the credentials for %s in %s are not base64 \"user:password\"; log in again",
				name, path);
		if (ret != -ENOENT)
			return ret;
	}
	return -ENOENT;
}

int reg_auth_lookup(const char *server, char **user, char **pass,
		    struct hutch_err *err)
{
	cleanup_free char *key = reg_auth_key(server);
	char *paths[3] = { reg_auth_path(), NULL, NULL };
	const char *podman = getenv("REGISTRY_AUTH_FILE");
	int ret = -ENOENT;

	*user = *pass = NULL;
	if (podman && *podman)
		paths[1] = strdup(podman);
	paths[2] = config_file("DOCKER_CONFIG", ".docker", "config.json");
	for (size_t i = 0; key && i < ARRAY_SIZE(paths) && ret == -ENOENT; i++)
		if (paths[i])
			ret = lookup_in(paths[i], key, user, pass, err);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		free(paths[i]);
	if (!key)
		return -ENOMEM;
	if (ret == 0)
		cmn_debug("registry: using stored credentials of %s for %s",
			  *user, key);
	return ret;
}

/* Write @root to @path through a private temporary file. */
static int save_file(const char *path, const json_t *root,
		     struct hutch_err *err)
{
	cleanup_free char *dir = strdup(path);
	cleanup_free char *tmp =
		cmn_strdup_printf("%s.tmp-%d", path, (int)getpid());
	cleanup_free char *text = json_dumps(root, JSON_INDENT(1));
	cleanup_close int fd = -1;
	char *slash;
	int ret;

	if (!dir || !tmp || !text)
		return cmn_err_set(err, ENOMEM, "credentials");
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	ret = cmn_mkdir_p(dir, 0700);
	if (ret < 0)
		return cmn_err_set(err, -ret, "cannot create %s", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return cmn_err_set(err, errno, "cannot write %s", tmp);
	ret = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (ret == 0)
		ret = cmn_write_all(fd, text, strlen(text));
	if (ret == 0)
		ret = cmn_write_all(fd, "\n", 1);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	explicit_bzero(text, strlen(text));
	if (ret < 0) {
		unlink(tmp);
		return cmn_err_set(err, -ret, "cannot write credentials to %s",
				   path);
	}
	return 0;
}

/* Drop every entry of "auths" that normalises to @key. */
static bool remove_key(json_t *auths, const char *key)
{
	const char *name;
	json_t *entry;
	void *tmp;
	bool found = false;

	json_object_foreach_safe(auths, tmp, name, entry)
	{
		cleanup_free char *k = reg_auth_key(name);

		if (k && !strcmp(k, key)) {
			json_object_del(auths, name);
			found = true;
		}
	}
	return found;
}

/* hutch's file and its "auths" object (created when missing). */
static json_t *load_own(char **path, json_t **auths, struct hutch_err *err)
{
	json_t *root;

	*path = reg_auth_path();
	if (!*path) {
		cmn_err_set(err, errno, "cannot find the credentials file");
		cmn_err_fix(err, "set HOME or XDG_CONFIG_HOME");
		return NULL;
	}
	root = load_file(*path, err);
	if (!root)
		return NULL;
	*auths = json_object_get(root, "auths");
	if (!json_is_object(*auths)) {
		*auths = json_object();
		json_object_set_new(root, "auths", *auths);
	}
	return root;
}

int reg_auth_store(const char *server, const char *user, const char *pass,
		   struct hutch_err *err)
{
	cleanup_free char *path = NULL;
	cleanup_free char *key = reg_auth_key(server);
	cleanup_free char *name = img_registry_display(server);
	cleanup_free char *pair = cmn_strdup_printf("%s:%s", user, pass);
	cleanup_free char *b64 = NULL;
	json_t *auths = NULL;
	cleanup_json json_t *root = load_own(&path, &auths, err);

	if (!root)
		return -EINVAL;
	if (!key || !name || !pair)
		return cmn_err_set(err, ENOMEM, "credentials");
	b64 = reg_base64_encode(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	if (!b64)
		return cmn_err_set(err, ENOMEM, "credentials");
	remove_key(auths, key);
	json_object_set_new(auths, name, json_pack("{s:s}", "auth", b64));
	explicit_bzero(b64, strlen(b64));
	return save_file(path, root, err);
}

int reg_auth_erase(const char *server, bool *found, struct hutch_err *err)
{
	cleanup_free char *path = NULL;
	cleanup_free char *key = reg_auth_key(server);
	json_t *auths = NULL;
	cleanup_json json_t *root = load_own(&path, &auths, err);

	*found = false;
	if (!root)
		return -EINVAL;
	if (!key)
		return cmn_err_set(err, ENOMEM, "credentials");
	*found = remove_key(auths, key);
	if (!*found)
		return 0;
	return save_file(path, root, err);
}

int img_login(const char *server, const char *user, const char *pass,
	      struct hutch_err *err)
{
	cleanup_free char *key = reg_auth_key(server);
	struct reg_client *c = NULL;
	int ret;

	if (!key)
		return cmn_err_set(err, ENOMEM, "login");
	if (!user || !*user)
		return cmn_err_msg(err, EINVAL,
				   "login: a username is required");
	ret = reg_open(key, false, user, pass, &c, err);
	if (ret == 0)
		ret = reg_check_login(c, err);
	reg_close(c);
	if (ret < 0)
		return ret;
	return reg_auth_store(key, user, pass, err);
}

int img_logout(const char *server, bool *found, struct hutch_err *err)
{
	return reg_auth_erase(server, found, err);
}
