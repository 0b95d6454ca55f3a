/* SPDX-License-Identifier: Apache-2.0 */
/* json-cleanup.h - cleanup_json: a json_t * released when it goes out of
 * scope, by jansson's own releaser (the one behind its json_auto_t); apart
 * from common.h, which must not make every helper include jansson.h */
#ifndef HUTCH_JSON_CLEANUP_H
#define HUTCH_JSON_CLEANUP_H

#include <jansson.h>

#define cleanup_json __attribute__((cleanup(json_decrefp)))

#endif
