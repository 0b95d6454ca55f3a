// SPDX-License-Identifier: Apache-2.0
/* cdi-yaml.c - a YAML document (libyaml) as the JSON tree cdi.c reads
 *
 * CDI specs come in YAML or JSON; both become one jansson tree, so one
 * reader checks every field. libyaml's document API resolves anchors and
 * aliases to shared nodes: a document of nested aliases ("billion laughs")
 * would expand exponentially, so the conversion counts the nodes it makes
 * and stops at a limit, and at a nesting depth. Every scalar becomes a
 * string (a plain null or ~: null), as a hook's argument `true` or `1` must
 * stay one; cdi.c reads numbers from strings too.
 */

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "sandbox/sandbox-internal.h"

#define YAML_MAX_NODES 100000
#define YAML_MAX_DEPTH 64

struct conv {
	yaml_document_t *doc;
	size_t nodes;
	const char *why; /* static, set on failure */
};

static json_t *scalar(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!strcmp(v, "null") || !strcmp(v, "~") || !*v))
		return json_null();
	return json_stringn(v, n->data.scalar.length);
}

static json_t *convert(struct conv *c, const yaml_node_t *n, int depth)
{
	json_t *out = NULL;

	if (!n || depth > YAML_MAX_DEPTH || ++c->nodes > YAML_MAX_NODES) {
		c->why = n ? "nested too deep or too large (aliases?)"
			   : "a dangling node";
		return NULL;
	}
	if (n->type == YAML_SCALAR_NODE)
		return scalar(n);
	if (n->type == YAML_SEQUENCE_NODE) {
		out = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     out && i < n->data.sequence.items.top; i++) {
			json_t *e =
				convert(c, yaml_document_get_node(c->doc, *i),
					depth + 1);

			if (!e || json_array_append_new(out, e) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	if (n->type != YAML_MAPPING_NODE) {
		c->why = "an empty document";
		return NULL;
	}
	out = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     out && p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		json_t *v;

		if (!k || k->type != YAML_SCALAR_NODE) {
			c->why = "a key that is not a plain string";
			json_decref(out);
			return NULL;
		}
		v = convert(c, yaml_document_get_node(c->doc, p->value),
			    depth + 1);
		if (!v ||
		    json_object_set_new(out, (const char *)k->data.scalar.value,
					v) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

json_t *sbx_yaml_to_json(const char *text, size_t len, char *why, size_t size)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct conv c = { .doc = &doc };
	json_t *out = NULL;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(why, size, "line %zu: %s",
			 parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return NULL;
	}
	out = convert(&c, yaml_document_get_root_node(&doc), 0);
	if (!out)
		snprintf(why, size, "%s", c.why ? c.why : "out of memory");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}
