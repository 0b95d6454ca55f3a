// SPDX-License-Identifier: Apache-2.0
/* version.c - the release and commit hutch, hutch-net and hutch-overlay were
 * built from (the Makefile's VERSION and GIT_COMMIT)
 *
 * One object in libcommon.a, linked into all three programs, so that the
 * three always say the same thing when built together; `hutch info` asks
 * each helper for its --version and compares it with this one.
 */

#include "common/common.h"

#ifndef HUTCH_VERSION
#define HUTCH_VERSION "unknown"
#endif
#ifndef HUTCH_COMMIT
#define HUTCH_COMMIT "unknown"
#endif

const char *cmn_version_string(void)
{
	return HUTCH_VERSION " (commit " HUTCH_COMMIT ")";
}
