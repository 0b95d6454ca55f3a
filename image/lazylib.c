// SPDX-License-Identifier: Apache-2.0
/* lazylib.c - libcurl, libarchive, libcrypto and libyaml, loaded the
 * first time they are used
 *
 * Theory of operation. Linking libcurl and libarchive costs every hutch
 * process the loading of some forty shared objects (curl's TLS, HTTP/2,
 * Kerberos and LDAP stacks; libarchive's compressors, libxml2 and ICU):
 * 40 ms of relocations and page faults on a small VM, three times what
 * bubblewrap needs to start a whole container, and paid again by every
 * `hutch run`, `exec`, `ps` and by the container monitor, none of which
 * use them. libcrypto alone, for SHA-256 and base64, costs 4 ms of CPU
 * in its constructors on the same VM: a third of a container's start-up.
 * So the hutch binary does not link them. This file defines the
 * functions of theirs that hutch calls, with the same prototypes (the
 * compiler checks them against the libraries' own headers), and each
 * resolves the real one with dlopen()/dlsym() on its first call: only
 * pull, push, login, build, import, save and load pay for them (and a
 * command that hashes something, for libcrypto; a command that reads a
 * CDI spec in YAML, for libyaml: small, but every run would load it).
 *
 * The unit tests link the real libraries and not this file. A library
 * that cannot be loaded is a one-line error naming the package, exit 125.
 * Four functions are variadic: libcurl's setopt/getinfo take exactly one
 * argument after the option, a long, a curl_off_t, or an object or
 * function pointer, all passed alike in an integer register on the LP64
 * ABIs hutch builds for, so it is forwarded as one 64-bit word;
 * archive_set_error() is formatted here and passed on as "%s".
 */

#define CURL_DISABLE_TYPECHECK 1

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

struct lazy_lib {
	const char *soname, *package;
	void *handle;
};

static struct lazy_lib curl = { "libcurl.so.4", "libcurl4", NULL };
static struct lazy_lib archive = { "libarchive.so.13", "libarchive13", NULL };
static struct lazy_lib crypto = { "libcrypto.so.3", "libssl3", NULL };
static struct lazy_lib yaml = { "libyaml-0.so.2", "libyaml-0-2", NULL };

static void *lazy_sym(struct lazy_lib *lib, const char *name)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	void *sym;

	if (!h) {
		h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr,
				"hutch: cannot load %s (%s); install the %s package\n",
				lib->soname, dlerror(), lib->package);
			exit(125);
		}
		__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
	}
	sym = dlsym(h, name);
	if (!sym) {
		fprintf(stderr,
			"hutch: %s has no %s; install a newer %s package\n",
			lib->soname, name, lib->package);
		exit(125);
	}
	return sym;
}

/* The real @name of @lib, looked up once. */
#define REAL(lib, name)                                                 \
	({                                                              \
		static __typeof__(&name) real_;                         \
		__typeof__(&name) p_ =                                  \
			__atomic_load_n(&real_, __ATOMIC_ACQUIRE);      \
		if (!p_) {                                              \
			p_ = (__typeof__(&name))lazy_sym(&lib, #name);  \
			__atomic_store_n(&real_, p_, __ATOMIC_RELEASE); \
		}                                                       \
		p_;                                                     \
	})

/* A variadic function of libcurl whose one argument after the option is
 * passed on as a 64-bit word (see the top comment). */
#define FORWARD_ONE_WORD(ret, name, handle_t, option_t) \
	ret name(handle_t a0, option_t a1, ...)         \
	{                                               \
		va_list ap;                             \
		void *v;                                \
                                                        \
		va_start(ap, a1);                       \
		v = va_arg(ap, void *);                 \
		va_end(ap);                             \
		return REAL(curl, name)(a0, a1, v);     \
	}

FORWARD_ONE_WORD(CURLcode, curl_easy_setopt, CURL *, CURLoption)
FORWARD_ONE_WORD(CURLcode, curl_easy_getinfo, CURL *, CURLINFO)
FORWARD_ONE_WORD(CURLMcode, curl_multi_setopt, CURLM *, CURLMoption)

void archive_set_error(struct archive *a0, int a1, const char *a2, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, a2);
	vsnprintf(msg, sizeof(msg), a2, ap);
	va_end(ap);
	REAL(archive, archive_set_error)(a0, a1, "%s", msg);
}

time_t archive_entry_atime(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_atime)(a0);
}

int archive_entry_atime_is_set(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_atime_is_set)(a0);
}

long archive_entry_atime_nsec(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_atime_nsec)(a0);
}

__LA_MODE_T archive_entry_filetype(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_filetype)(a0);
}

void archive_entry_free(struct archive_entry *a0)
{
	REAL(archive, archive_entry_free)(a0);
}

la_int64_t archive_entry_gid(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_gid)(a0);
}

const char *archive_entry_hardlink(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_hardlink)(a0);
}

__LA_MODE_T archive_entry_mode(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_mode)(a0);
}

time_t archive_entry_mtime(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_mtime)(a0);
}

int archive_entry_mtime_is_set(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_mtime_is_set)(a0);
}

long archive_entry_mtime_nsec(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_mtime_nsec)(a0);
}

struct archive_entry *archive_entry_new(void)
{
	return REAL(archive, archive_entry_new)();
}

const char *archive_entry_pathname(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_pathname)(a0);
}

__LA_MODE_T archive_entry_perm(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_perm)(a0);
}

dev_t archive_entry_rdev(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_rdev)(a0);
}

void archive_entry_set_filetype(struct archive_entry *a0, unsigned int a1)
{
	REAL(archive, archive_entry_set_filetype)(a0, a1);
}

void archive_entry_set_gid(struct archive_entry *a0, la_int64_t a1)
{
	REAL(archive, archive_entry_set_gid)(a0, a1);
}

void archive_entry_set_mtime(struct archive_entry *a0, time_t a1, long a2)
{
	REAL(archive, archive_entry_set_mtime)(a0, a1, a2);
}

void archive_entry_set_pathname(struct archive_entry *a0, const char *a1)
{
	REAL(archive, archive_entry_set_pathname)(a0, a1);
}

void archive_entry_set_perm(struct archive_entry *a0, __LA_MODE_T a1)
{
	REAL(archive, archive_entry_set_perm)(a0, a1);
}

void archive_entry_set_size(struct archive_entry *a0, la_int64_t a1)
{
	REAL(archive, archive_entry_set_size)(a0, a1);
}

void archive_entry_set_uid(struct archive_entry *a0, la_int64_t a1)
{
	REAL(archive, archive_entry_set_uid)(a0, a1);
}

la_int64_t archive_entry_size(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_size)(a0);
}

int archive_entry_size_is_set(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_size_is_set)(a0);
}

const struct stat *archive_entry_stat(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_stat)(a0);
}

const char *archive_entry_symlink(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_symlink)(a0);
}

la_int64_t archive_entry_uid(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_uid)(a0);
}

void archive_entry_xattr_add_entry(struct archive_entry *a0, const char *a1,
				   const void *a2, size_t a3)
{
	REAL(archive, archive_entry_xattr_add_entry)(a0, a1, a2, a3);
}

void archive_entry_xattr_clear(struct archive_entry *a0)
{
	REAL(archive, archive_entry_xattr_clear)(a0);
}

void archive_entry_unset_atime(struct archive_entry *a0)
{
	REAL(archive, archive_entry_unset_atime)(a0);
}

void archive_entry_unset_ctime(struct archive_entry *a0)
{
	REAL(archive, archive_entry_unset_ctime)(a0);
}

void archive_entry_unset_birthtime(struct archive_entry *a0)
{
	REAL(archive, archive_entry_unset_birthtime)(a0);
}

int archive_entry_xattr_count(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_xattr_count)(a0);
}

int archive_entry_xattr_next(struct archive_entry *a0, const char **a1,
			     const void **a2, size_t *a3)
{
	return REAL(archive, archive_entry_xattr_next)(a0, a1, a2, a3);
}

int archive_entry_xattr_reset(struct archive_entry *a0)
{
	return REAL(archive, archive_entry_xattr_reset)(a0);
}

int archive_errno(struct archive *a0)
{
	return REAL(archive, archive_errno)(a0);
}

const char *archive_error_string(struct archive *a0)
{
	return REAL(archive, archive_error_string)(a0);
}

la_ssize_t archive_read_data(struct archive *a0, void *a1, size_t a2)
{
	return REAL(archive, archive_read_data)(a0, a1, a2);
}

int archive_read_data_block(struct archive *a0, const void **a1, size_t *a2,
			    la_int64_t *a3)
{
	return REAL(archive, archive_read_data_block)(a0, a1, a2, a3);
}

int archive_read_disk_descend(struct archive *a0)
{
	return REAL(archive, archive_read_disk_descend)(a0);
}

struct archive *archive_read_disk_new(void)
{
	return REAL(archive, archive_read_disk_new)();
}

int archive_read_disk_open(struct archive *a0, const char *a1)
{
	return REAL(archive, archive_read_disk_open)(a0, a1);
}

int archive_read_disk_set_behavior(struct archive *a0, int a1)
{
	return REAL(archive, archive_read_disk_set_behavior)(a0, a1);
}

int archive_read_disk_set_symlink_physical(struct archive *a0)
{
	return REAL(archive, archive_read_disk_set_symlink_physical)(a0);
}

int archive_read_free(struct archive *a0)
{
	return REAL(archive, archive_read_free)(a0);
}

struct archive *archive_read_new(void)
{
	return REAL(archive, archive_read_new)();
}

int archive_read_next_header(struct archive *a0, struct archive_entry **a1)
{
	return REAL(archive, archive_read_next_header)(a0, a1);
}

int archive_read_open(struct archive *a0, void *a1, archive_open_callback *a2,
		      archive_read_callback *a3, archive_close_callback *a4)
{
	return REAL(archive, archive_read_open)(a0, a1, a2, a3, a4);
}

int archive_read_open_fd(struct archive *a0, int a1, size_t a2)
{
	return REAL(archive, archive_read_open_fd)(a0, a1, a2);
}

int archive_read_open_filename(struct archive *a0, const char *a1, size_t a2)
{
	return REAL(archive, archive_read_open_filename)(a0, a1, a2);
}

int archive_read_support_filter_all(struct archive *a0)
{
	return REAL(archive, archive_read_support_filter_all)(a0);
}

int archive_read_support_filter_bzip2(struct archive *a0)
{
	return REAL(archive, archive_read_support_filter_bzip2)(a0);
}

int archive_read_support_filter_gzip(struct archive *a0)
{
	return REAL(archive, archive_read_support_filter_gzip)(a0);
}

int archive_read_support_filter_xz(struct archive *a0)
{
	return REAL(archive, archive_read_support_filter_xz)(a0);
}

int archive_read_support_filter_zstd(struct archive *a0)
{
	return REAL(archive, archive_read_support_filter_zstd)(a0);
}

int archive_read_support_format_empty(struct archive *a0)
{
	return REAL(archive, archive_read_support_format_empty)(a0);
}

int archive_read_support_format_gnutar(struct archive *a0)
{
	return REAL(archive, archive_read_support_format_gnutar)(a0);
}

int archive_read_support_format_raw(struct archive *a0)
{
	return REAL(archive, archive_read_support_format_raw)(a0);
}

int archive_read_support_format_tar(struct archive *a0)
{
	return REAL(archive, archive_read_support_format_tar)(a0);
}

int archive_write_close(struct archive *a0)
{
	return REAL(archive, archive_write_close)(a0);
}

la_ssize_t archive_write_data(struct archive *a0, const void *a1, size_t a2)
{
	return REAL(archive, archive_write_data)(a0, a1, a2);
}

int archive_write_free(struct archive *a0)
{
	return REAL(archive, archive_write_free)(a0);
}

int archive_write_header(struct archive *a0, struct archive_entry *a1)
{
	return REAL(archive, archive_write_header)(a0, a1);
}

struct archive *archive_write_new(void)
{
	return REAL(archive, archive_write_new)();
}

int archive_write_open2(struct archive *a0, void *a1, archive_open_callback *a2,
			archive_write_callback *a3, archive_close_callback *a4,
			archive_free_callback *a5)
{
	return REAL(archive, archive_write_open2)(a0, a1, a2, a3, a4, a5);
}

int archive_write_open_fd(struct archive *a0, int a1)
{
	return REAL(archive, archive_write_open_fd)(a0, a1);
}

int archive_write_open_filename(struct archive *a0, const char *a1)
{
	return REAL(archive, archive_write_open_filename)(a0, a1);
}

int archive_write_set_bytes_in_last_block(struct archive *a0, int a1)
{
	return REAL(archive, archive_write_set_bytes_in_last_block)(a0, a1);
}

int archive_write_set_format_option(struct archive *a0, const char *a1,
				    const char *a2, const char *a3)
{
	return REAL(archive, archive_write_set_format_option)(a0, a1, a2, a3);
}

int archive_write_set_format_pax_restricted(struct archive *a0)
{
	return REAL(archive, archive_write_set_format_pax_restricted)(a0);
}

void curl_easy_cleanup(CURL *a0)
{
	REAL(curl, curl_easy_cleanup)(a0);
}

char *curl_easy_escape(CURL *a0, const char *a1, int a2)
{
	return REAL(curl, curl_easy_escape)(a0, a1, a2);
}

CURL *curl_easy_init(void)
{
	return REAL(curl, curl_easy_init)();
}

CURLcode curl_easy_perform(CURL *a0)
{
	return REAL(curl, curl_easy_perform)(a0);
}

const char *curl_easy_strerror(CURLcode a0)
{
	return REAL(curl, curl_easy_strerror)(a0);
}

void curl_free(void *a0)
{
	REAL(curl, curl_free)(a0);
}

CURLcode curl_global_init(long a0)
{
	return REAL(curl, curl_global_init)(a0);
}

CURLMcode curl_multi_add_handle(CURLM *a0, CURL *a1)
{
	return REAL(curl, curl_multi_add_handle)(a0, a1);
}

CURLMcode curl_multi_cleanup(CURLM *a0)
{
	return REAL(curl, curl_multi_cleanup)(a0);
}

CURLMsg *curl_multi_info_read(CURLM *a0, int *a1)
{
	return REAL(curl, curl_multi_info_read)(a0, a1);
}

CURLM *curl_multi_init(void)
{
	return REAL(curl, curl_multi_init)();
}

CURLMcode curl_multi_perform(CURLM *a0, int *a1)
{
	return REAL(curl, curl_multi_perform)(a0, a1);
}

CURLMcode curl_multi_poll(CURLM *a0, struct curl_waitfd *a1, unsigned int a2,
			  int a3, int *a4)
{
	return REAL(curl, curl_multi_poll)(a0, a1, a2, a3, a4);
}

CURLMcode curl_multi_remove_handle(CURLM *a0, CURL *a1)
{
	return REAL(curl, curl_multi_remove_handle)(a0, a1);
}

const char *curl_multi_strerror(CURLMcode a0)
{
	return REAL(curl, curl_multi_strerror)(a0);
}

struct curl_slist *curl_slist_append(struct curl_slist *a0, const char *a1)
{
	return REAL(curl, curl_slist_append)(a0, a1);
}

void curl_slist_free_all(struct curl_slist *a0)
{
	REAL(curl, curl_slist_free_all)(a0);
}

CURLU *curl_url(void)
{
	return REAL(curl, curl_url)();
}

void curl_url_cleanup(CURLU *a0)
{
	REAL(curl, curl_url_cleanup)(a0);
}

CURLUcode curl_url_get(CURLU *a0, CURLUPart a1, char **a2, unsigned int a3)
{
	return REAL(curl, curl_url_get)(a0, a1, a2, a3);
}

CURLUcode curl_url_set(CURLU *a0, CURLUPart a1, const char *a2, unsigned int a3)
{
	return REAL(curl, curl_url_set)(a0, a1, a2, a3);
}

/* ---- libcrypto ---------------------------------------------------------- */

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
	return REAL(crypto, EVP_MD_CTX_new)();
}

void EVP_MD_CTX_free(EVP_MD_CTX *a0)
{
	REAL(crypto, EVP_MD_CTX_free)(a0);
}

const EVP_MD *EVP_sha256(void)
{
	return REAL(crypto, EVP_sha256)();
}

int EVP_DigestInit_ex(EVP_MD_CTX *a0, const EVP_MD *a1, ENGINE *a2)
{
	return REAL(crypto, EVP_DigestInit_ex)(a0, a1, a2);
}

int EVP_DigestUpdate(EVP_MD_CTX *a0, const void *a1, size_t a2)
{
	return REAL(crypto, EVP_DigestUpdate)(a0, a1, a2);
}

int EVP_DigestFinal_ex(EVP_MD_CTX *a0, unsigned char *a1, unsigned int *a2)
{
	return REAL(crypto, EVP_DigestFinal_ex)(a0, a1, a2);
}

int EVP_EncodeBlock(unsigned char *a0, const unsigned char *a1, int a2)
{
	return REAL(crypto, EVP_EncodeBlock)(a0, a1, a2);
}

int EVP_DecodeBlock(unsigned char *a0, const unsigned char *a1, int a2)
{
	return REAL(crypto, EVP_DecodeBlock)(a0, a1, a2);
}

int yaml_parser_initialize(yaml_parser_t *a0)
{
	return REAL(yaml, yaml_parser_initialize)(a0);
}

void yaml_parser_set_input_string(yaml_parser_t *a0, const unsigned char *a1,
				  size_t a2)
{
	REAL(yaml, yaml_parser_set_input_string)(a0, a1, a2);
}

int yaml_parser_load(yaml_parser_t *a0, yaml_document_t *a1)
{
	return REAL(yaml, yaml_parser_load)(a0, a1);
}

void yaml_parser_delete(yaml_parser_t *a0)
{
	REAL(yaml, yaml_parser_delete)(a0);
}

yaml_node_t *yaml_document_get_root_node(yaml_document_t *a0)
{
	return REAL(yaml, yaml_document_get_root_node)(a0);
}

yaml_node_t *yaml_document_get_node(yaml_document_t *a0, int a1)
{
	return REAL(yaml, yaml_document_get_node)(a0, a1);
}

void yaml_document_delete(yaml_document_t *a0)
{
	REAL(yaml, yaml_document_delete)(a0);
}
