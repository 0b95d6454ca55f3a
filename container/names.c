// SPDX-License-Identifier: Apache-2.0
/* names.c - container names like Docker's: adjective_noun
 *
 * Our own lists: adjectives a lab notebook would use, and the people and
 * tools of computing and data science.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "container/container-internal.h"

static const char *const adjectives[] = {
	"agile",    "bold",	"brave",   "bright",  "calm",	"careful",
	"clever",   "cosmic",	"curious", "daring",  "eager",	"elegant",
	"exact",    "fearless", "fluent",  "focused", "gentle", "glad",
	"graceful", "happy",	"honest",  "humble",  "jolly",	"keen",
	"kind",	    "lively",	"lucid",   "lucky",   "mellow", "merry",
	"modest",   "nimble",	"noble",   "patient", "plucky", "polite",
	"precise",  "quick",	"quiet",   "rapid",   "robust", "serene",
	"sharp",    "sincere",	"smooth",  "snappy",  "steady", "sturdy",
	"swift",    "tidy",	"upbeat",  "vivid",   "warm",	"wise",
	"witty",    "zealous",
};

static const char *const nouns[] = {
	"allen",      "babbage",   "backus",	  "bayes",    "boole",
	"cerf",	      "church",	   "codd",	  "dijkstra", "euler",
	"fisher",     "gauss",	   "hamming",	  "hopper",   "huffman",
	"karp",	      "kernighan", "knuth",	  "lamport",  "laplace",
	"liskov",     "lovelace",  "markov",	  "mccarthy", "minsky",
	"neumann",    "noether",   "pascal",	  "pearson",  "perlman",
	"poisson",    "ritchie",   "rivest",	  "shannon",  "shamir",
	"sutherland", "tarjan",	   "thompson",	  "torvalds", "turing",
	"tukey",      "wilkes",	   "wirth",	  "yao",      "hinton",
	"lecun",      "vapnik",	   "bengio",	  "pearl",    "breiman",
	"efron",      "cox",	   "nightingale", "fermat",
};

static unsigned int pick(unsigned int n)
{
	unsigned int r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned int)rand();
	return r % n;
}

char *ctr_generate_name(bool numbered)
{
	const char *a = adjectives[pick(ARRAY_SIZE(adjectives))];
	const char *n = nouns[pick(ARRAY_SIZE(nouns))];

	if (numbered)
		return cmn_strdup_printf("%s_%s%u", a, n, pick(100));
	return cmn_strdup_printf("%s_%s", a, n);
}
