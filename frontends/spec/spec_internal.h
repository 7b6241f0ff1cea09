/* Internal header of frontends/spec: the validation context shared by the
 * parser, the option reader, the override code and the class checks.
 *
 * Sections, one per .c file: spec_options.c (JSON paths, error messages,
 * generic keyword-argument reading, getters), spec_override.c (command-line
 * overrides), spec_checks.c (rules across arguments, hooked into the tables),
 * spec_tables.c (the tables), spec.c (loading, the spec's sections),
 * spec_print.c (the resolved spec as JSON). */
#ifndef TC_SPEC_INTERNAL_H
#define TC_SPEC_INTERNAL_H

#include <cjson/cJSON.h>

#include "ir.h" /* tc_arena, TC_ASSERT */
#include "spec.h"

/* JSON types a node may have, as a bit set (for override coercion and for
 * "expected ..." messages of structural fields). */
enum {
  J_NULL = 1u << 0,
  J_BOOL = 1u << 1,
  J_NUMBER = 1u << 2,
  J_STRING = 1u << 3,
  J_ARRAY = 1u << 4,
  J_OBJECT = 1u << 5,
};

/* One command-line override: the node it put into the tree (a raw string
 * until a reader coerces it to the type it expects). */
typedef struct spec_ovr {
  cJSON *node;       /* NULL once replaced by a later override */
  const char *key;   /* as given, without "--" */
  bool coerced;
} spec_ovr;

typedef struct tc_spec_ctx {
  const char *src;        /* spec name for messages */
  tc_error *err;
  tc_arena *arena;        /* the spec's arena */
  char path[1024];        /* JSON path of the node being read: "$.a.b[2]" */
  size_t plen;
  spec_ovr *ovr;          /* overrides (malloc'd), n_ovr of them */
  int n_ovr;
  const char *base_dir;   /* folder of the spec file; NULL: paths as written */
  tc_spec *spec;          /* the spec being built (checks look at the optimizer) */
} tc_spec_ctx;

/* ---- spec_options.c ------------------------------------------------------ */

/* Appends ".key" (or "['key']") / "[i]" to the path; returns the old length
 * for spec_pop. */
size_t spec_push_key(tc_spec_ctx *c, const char *key);
size_t spec_push_index(tc_spec_ctx *c, int i);
void spec_pop(tc_spec_ctx *c, size_t old);

/* "SRC: PATH[ (from --key)]: message"; node (may be NULL) tells whether the
 * value came from an override. Returns TC_ERR_INPUT. */
tc_status spec_fail(tc_spec_ctx *c, const cJSON *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same at PATH.key (obj's member key, present or not). */
tc_status spec_fail_key(tc_spec_ctx *c, cJSON *obj, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
tc_status spec_oom(tc_spec_ctx *c);

/* "a string (\"abc\")", "a number", "an object", ... for "got ..." */
const char *spec_describe(const cJSON *node, char *buf, size_t size);

/* Reads parent's member *node (already looked up) as a structural value:
 * coerces overrides, then checks the JSON type against mask, failing with
 * "expected WHAT, got ...". */
tc_status spec_expect(tc_spec_ctx *c, cJSON *parent, cJSON **node, unsigned mask,
                      const char *what);

/* Checks obj for duplicate keys. */
tc_status spec_no_duplicates(tc_spec_ctx *c, cJSON *obj);

/* A key trainc refuses for a whole family, with the reason. */
typedef struct spec_reject {
  const char *name;
  const char *why;
} spec_reject;

/* Reads obj's keyword arguments for cls into out. Members named in extra
 * (NULL-terminated; may be NULL) are left to the caller and listed as known;
 * disc (the "type"/"format" key, may be NULL) is skipped and not listed.
 * Rejected keys fail with their reason; other keys fail as unknown "for
 * WHAT". Missing arguments take base's value if base is given (param
 * groups), else the table default; a missing required one fails. Then the
 * class check runs. NESTED arguments are left as None for the caller. */
tc_status spec_read_options(tc_spec_ctx *c, cJSON *obj, const tc_spec_class *cls,
                            const char *const *extra, const char *disc,
                            const spec_reject *rejects, const char *what,
                            const tc_spec_options *base, tc_spec_options *out);

/* The known-keys list of cls plus extra, "a, b, c", into buf. */
void spec_known_keys(const tc_spec_class *cls, const char *const *extra, char *buf,
                     size_t size);

/* " (did you mean \"x\"?)" for the closest name within a small edit
 * distance, else "". names is NULL-terminated or given by count n. */
const char *spec_suggest(const char *word, const char *const *names, int n, char *buf,
                         size_t size);

/* Looks up the class named by obj's member disc ("type"/"format") in
 * family f; fails with the known names if missing or unknown. */
tc_status spec_read_class(tc_spec_ctx *c, cJSON *obj, const char *disc, tc_spec_family f,
                          const char *what, const tc_spec_class **out);

/* Shortest text that reads back as x ("0.1", "1e-08", "2"). */
void spec_format_double(double x, char *buf, size_t size);

/* ---- spec_override.c ----------------------------------------------------- */

/* Sets the dotted key in root to a raw string node and records it. */
tc_status spec_apply_override(tc_spec_ctx *c, cJSON *root, const char *key,
                              const char *value);
/* Forgets the overrides inside node's tree (about to be deleted). */
void spec_forget_overrides(tc_spec_ctx *c, const cJSON *node);

/* The override whose tree contains node, or NULL. */
const spec_ovr *spec_override_of(const tc_spec_ctx *c, const cJSON *node);

/* Makes *node (the member of parent) a value of one of the JSON types in
 * mask if it is a raw command-line override (see spec.h); *node may be
 * replaced. Out of memory only fails. */
tc_status spec_coerce(tc_spec_ctx *c, cJSON *parent, cJSON **node, unsigned jmask);

/* ---- spec_paths.c -------------------------------------------------------- */

/* A data path as written at node, resolved: against the spec's folder if
 * relative (refused if it leaves that folder by '..' or a symbolic link),
 * as given if absolute or from the command line. */
tc_status spec_resolve_path(tc_spec_ctx *c, const cJSON *node, const char *given,
                            const char **out);

/* ---- spec_json.c --------------------------------------------------------- */

/* Whether text is standard JSON that cJSON parses, given memory: when
 * cJSON_Parse fails on text this accepts, memory ran out. Allocates
 * nothing. */
bool spec_json_valid(const char *text);

/* ---- spec_checks.c ------------------------------------------------------- */

tc_status spec_check_sgd(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_rprop(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_lbfgs(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_cyclic(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_onecycle(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_plateau(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_normalize(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_padding(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_color_jitter(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_rotation(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);
tc_status spec_check_csv(tc_spec_ctx *c, cJSON *obj, tc_spec_options *o);

/* ---- spec_tables.c ------------------------------------------------------- */

extern const spec_reject spec_loss_rejects[];
extern const spec_reject spec_optimizer_rejects[];
extern const spec_reject spec_scheduler_rejects[];

#endif
