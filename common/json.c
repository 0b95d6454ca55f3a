// SPDX-License-Identifier: Apache-2.0
/* json.c - read a file that holds one JSON object, with one error contract
 *
 * The only member of common/ that uses jansson: hutch-overlay and hutch-net
 * link libcommon.a but never call it, so the linker leaves it (and jansson)
 * out of them.
 */

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/common.h"

/* "an array", for "must be a JSON object, not an array". */
static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "null";
	}
}

json_t *cmn_json_load(int dirfd, const char *path, const char *what, size_t max,
		      unsigned int flags, struct hutch_err *err)
{
	size_t len = 0;
	cleanup_free char *text = cmn_read_fileat(dirfd, path, max, &len);
	json_error_t jerr;
	json_t *root;

	if (!text) {
		int saved = errno;

		cmn_err_set(err, saved, "cannot read %s %s", what, path);
		errno = saved;
		return NULL;
	}
	/* any value, so that "123" is told as not an object, not as bad JSON */
	root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (flags & CMN_JSON_SECRET)
		explicit_bzero(text, len);
	if (!root) {
		cmn_err_msg(
			err, EBADMSG,
			"%s %s is not a JSON object: invalid JSON at line %d, column %d: %s",
			what, path, jerr.line, jerr.column, jerr.text);
		errno = EBADMSG;
		return NULL;
	}
	if (!json_is_object(root)) {
		cmn_err_msg(err, EINVAL, "%s %s must be a JSON object, not %s",
			    what, path, type_name(root));
		json_decref(root);
		errno = EINVAL;
		return NULL;
	}
	return root;
}
