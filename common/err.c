// SPDX-License-Identifier: Apache-2.0
/* err.c - struct hutch_err: one-line messages that gain context upwards */

#include <stdio.h>
#include <string.h>

#include "common/common.h"

static void append(struct hutch_err *err, const char *fmt, va_list ap)
{
	size_t used = strlen(err->msg);

	if (used < sizeof(err->msg))
		vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
}

int cmn_err_set(struct hutch_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (errnum < 0)
		errnum = -errnum;
	if (err) {
		err->code = errnum;
		err->msg[0] = '\0';
		va_start(ap, fmt);
		append(err, fmt, ap);
		va_end(ap);
		if (errnum) {
			size_t used = strlen(err->msg);

			snprintf(err->msg + used, sizeof(err->msg) - used,
				 ": %s", strerror(errnum));
		}
	}
	return errnum ? -errnum : -EINVAL;
}

int cmn_err_msg(struct hutch_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		err->msg[0] = '\0';
		va_start(ap, fmt);
		append(err, fmt, ap);
		va_end(ap);
	}
	return code ? -code : -EINVAL;
}

void cmn_err_prefix(struct hutch_err *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)];
	va_list ap;
	size_t used;

	if (!err)
		return;
	memcpy(old, err->msg, sizeof(old));
	err->msg[0] = '\0';
	va_start(ap, fmt);
	append(err, fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	if (old[0] && used + 3 < sizeof(err->msg)) {
		size_t room = sizeof(err->msg) - used - 3;
		size_t len = strnlen(old, room);

		memcpy(err->msg + used, ": ", 2);
		memcpy(err->msg + used + 2, old, len);
		err->msg[used + 2 + len] = '\0';
	}
}

void cmn_err_fix(struct hutch_err *err, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!err)
		return;
	used = strlen(err->msg);
	if (used + 2 < sizeof(err->msg)) {
		memcpy(err->msg + used, "; ", 3);
		va_start(ap, fmt);
		append(err, fmt, ap);
		va_end(ap);
	}
}
