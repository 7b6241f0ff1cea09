/* Command-line overrides (`--optimizer.lr 0.1`), applied to the JSON tree
 * before validation so that they are checked exactly like the file.
 *
 * An override puts its value into the tree as a raw string and records the
 * node. The value's type is only known when a reader reaches the node (the
 * type of "lr" depends on the optimizer, which may itself be overridden), so
 * readers call spec_coerce with the JSON types they accept, and the raw text
 * becomes the first of: JSON of an accepted type, the text itself for a
 * string field, "a,b" as an array for a list field. The record also lets
 * every message say "(from --key)". */
#include "spec_internal.h"

#include <stdlib.h>
#include <string.h>

static bool tree_contains(const cJSON *tree, const cJSON *node) {
  if (tree == node) return true;
  for (const cJSON *ch = tree->child; ch; ch = ch->next)
    if (tree_contains(ch, node)) return true;
  return false;
}

const spec_ovr *spec_override_of(const tc_spec_ctx *c, const cJSON *node) {
  /* Later overrides win, so look at them first. */
  for (int i = c->n_ovr - 1; i >= 0; i--)
    if (c->ovr[i].node && tree_contains(c->ovr[i].node, node)) return &c->ovr[i];
  return NULL;
}

void spec_forget_overrides(tc_spec_ctx *c, const cJSON *node) {
  /* The nodes are about to be freed; a new node could get the same address
   * and be taken for an override. */
  for (int i = 0; i < c->n_ovr; i++)
    if (c->ovr[i].node && tree_contains(node, c->ovr[i].node)) c->ovr[i].node = NULL;
}

static unsigned json_type_of(const cJSON *n) {
  if (cJSON_IsNull(n)) return J_NULL;
  if (cJSON_IsBool(n)) return J_BOOL;
  if (cJSON_IsNumber(n)) return J_NUMBER;
  if (cJSON_IsString(n)) return J_STRING;
  if (cJSON_IsArray(n)) return J_ARRAY;
  if (cJSON_IsObject(n)) return J_OBJECT;
  return 0;
}

/* Puts with in old's place in parent (an object or an array) and frees old.
 * cJSON_ReplaceItemViaPointer leaves the new item without a key, so old's
 * key moves over (both use cJSON's allocator). */
static void replace_member(cJSON *parent, cJSON *old, cJSON *with) {
  if (old->string && !(old->type & cJSON_StringIsConst)) {
    with->string = old->string;
    old->string = NULL;
  }
  cJSON_ReplaceItemViaPointer(parent, old, with);
}

static void replace(spec_ovr *o, cJSON *parent, cJSON **node, cJSON *with) {
  /* Only the override's own node goes; nothing else points into it. */
  replace_member(parent, *node, with);
  o->node = with;
  *node = with;
}

/* Comma-separated items as a cJSON array (NULL: out of memory). */
static cJSON *split_items(const char *raw) {
  cJSON *arr = cJSON_CreateArray();
  if (!arr || !raw[0]) return arr;
  size_t n = strlen(raw);
  char *item = malloc(n + 1);
  if (!item) {
    cJSON_Delete(arr);
    return NULL;
  }
  for (const char *p = raw;;) {
    size_t len = strcspn(p, ",");
    const char *b = p, *e = p + len;
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
    memcpy(item, b, (size_t)(e - b));
    item[e - b] = '\0';
    bool json = spec_json_valid(item);
    cJSON *v = json ? cJSON_ParseWithOpts(item, NULL, 1) : NULL;
    if (json && !v) { /* out of memory */
      cJSON_Delete(arr);
      free(item);
      return NULL;
    }
    if (v && (cJSON_IsArray(v) || cJSON_IsObject(v))) {
      cJSON_Delete(v);
      v = NULL;
    }
    if (!v) v = cJSON_CreateString(item);
    if (!v || !cJSON_AddItemToArray(arr, v)) {
      cJSON_Delete(v);
      cJSON_Delete(arr);
      free(item);
      return NULL;
    }
    if (!p[len]) break;
    p += len + 1;
  }
  free(item);
  return arr;
}

tc_status spec_coerce(tc_spec_ctx *c, cJSON *parent, cJSON **node, unsigned jmask) {
  spec_ovr *o = NULL;
  for (int i = c->n_ovr - 1; i >= 0 && !o; i--)
    if (c->ovr[i].node == *node && !c->ovr[i].coerced) o = &c->ovr[i];
  if (!o || !cJSON_IsString(*node)) return TC_OK;
  o->coerced = true;
  const char *raw = (*node)->valuestring;

  /* Checked first: cJSON would allocate on text that is not JSON, and
   * then NULL could not say whether memory ran out. */
  bool json = spec_json_valid(raw);
  cJSON *j = json ? cJSON_ParseWithOpts(raw, NULL, 1) : NULL;
  if (json && !j) return spec_oom(c);
  if (j && (json_type_of(j) & jmask)) {
    replace(o, parent, node, j);
    return TC_OK;
  }
  cJSON_Delete(j);
  if (jmask & J_STRING) return TC_OK; /* the raw text is the value */
  if ((jmask & J_ARRAY) && raw[0] != '[' && raw[0] != '{') {
    /* "0.9,0.99" -> [0.9, 0.99], "fc1.*,fc2.*" -> ["fc1.*", "fc2.*"]: each
     * item is JSON if it parses as a scalar, else a string; "" is []. */
    cJSON *arr = split_items(raw);
    if (!arr) return spec_oom(c);
    replace(o, parent, node, arr);
  }
  /* Otherwise left as a string: the reader reports "expected ..., got a
   * string". */
  return TC_OK;
}

/* One step of a dotted key: a member name or an array index. */
typedef struct seg {
  const char *name; /* NULL for an index */
  size_t len;
  int index;
} seg;

static tc_status key_error(tc_spec_ctx *c, const char *key, const char *what) {
  return tc_fail(c->err, TC_ERR_USAGE, "%s: --%s: %s", c->src, key, what);
}

/* Splits "a.b[2].c" into segments. */
static tc_status split_key(tc_spec_ctx *c, const char *key, seg *segs, int *n, int max) {
  const char *p = key;
  *n = 0;
  if (!*p) return key_error(c, key, "empty override key");
  while (*p) {
    if (*n == max) return key_error(c, key, "key too deep");
    seg *s = &segs[(*n)++];
    if (p[0] == '[' && (p[1] == '\'' || p[1] == '"')) {
      /* ['name.with.dots'] */
      const char *close = strchr(p + 2, p[1]);
      if (!close || close[1] != ']' || close == p + 2)
        return key_error(c, key, "expected ['name'] with a non-empty name");
      s->name = p + 2;
      s->len = (size_t)(close - (p + 2));
      p = close + 2;
    } else if (*p == '[') {
      char *end;
      long v = strtol(p + 1, &end, 10);
      if (end == p + 1 || *end != ']' || v < 0 || v > 1000000)
        return key_error(c, key, "expected [N] with N a non-negative index");
      s->name = NULL;
      s->index = (int)v;
      p = end + 1;
    } else {
      size_t len = strcspn(p, ".[");
      if (len == 0) return key_error(c, key, "empty name in the key");
      s->name = p;
      s->len = len;
      p += len;
    }
    if (*p == '.') {
      p++;
      if (!*p || *p == '.' || *p == '[') return key_error(c, key, "empty name in the key");
    } else if (*p && *p != '[') {
      return key_error(c, key, "malformed key");
    }
  }
  return TC_OK;
}

static tc_status record(tc_spec_ctx *c, cJSON *node, const char *key) {
  spec_ovr *grown = realloc(c->ovr, sizeof *grown * (size_t)(c->n_ovr + 1));
  if (!grown) return spec_oom(c);
  c->ovr = grown;
  c->ovr[c->n_ovr++] = (spec_ovr){node, key, false};
  return TC_OK;
}

tc_status spec_apply_override(tc_spec_ctx *c, cJSON *root, const char *key, const char *value) {
  if (key[0] == '-' && key[1] == '-') key += 2;
  enum { MAX_SEGS = 32 };
  seg segs[MAX_SEGS];
  int n;
  tc_status st = split_key(c, key, segs, &n, MAX_SEGS);
  if (st != TC_OK) return st;

  char name[256];
  cJSON *cur = root;
  size_t start = c->plen;
  for (int i = 0; i < n; i++) {
    bool last = i == n - 1;
    cJSON *child;
    if (segs[i].name) {
      if (segs[i].len >= sizeof name) return key_error(c, key, "name too long");
      memcpy(name, segs[i].name, segs[i].len);
      name[segs[i].len] = '\0';
      if (!cJSON_IsObject(cur)) {
        char buf[128];
        st = tc_fail(c->err, TC_ERR_INPUT, "%s: %s (from --%s): expected an object, got %s",
                     c->src, c->path, key, spec_describe(cur, buf, sizeof buf));
        break;
      }
      spec_push_key(c, name);
      child = cJSON_GetObjectItemCaseSensitive(cur, name);
    } else {
      if (!cJSON_IsArray(cur)) {
        char buf[128];
        st = tc_fail(c->err, TC_ERR_INPUT, "%s: %s (from --%s): expected an array, got %s",
                     c->src, c->path, key, spec_describe(cur, buf, sizeof buf));
        break;
      }
      int size = cJSON_GetArraySize(cur);
      spec_push_index(c, segs[i].index);
      if (segs[i].index > size) {
        st = tc_fail(c->err, TC_ERR_INPUT,
                     "%s: %s (from --%s): the array has %d element%s (index %d appends)",
                     c->src, c->path, key, size, size == 1 ? "" : "s", size);
        break;
      }
      child = segs[i].index < size ? cJSON_GetArrayItem(cur, segs[i].index) : NULL;
    }

    bool make = last || !child || cJSON_IsNull(child);
    if (!make) {
      /* An earlier override's raw text, e.g. --data.train '{"format": ...}'
       * then --data.train.path x: it must be JSON now. */
      st = spec_coerce(c, cur, &child, J_OBJECT | J_ARRAY);
      if (st != TC_OK) break;
    } else {
      /* The value itself, or a missing/null object on the way: start an
       * empty one (an array if an index follows) so that
       * "--lr_scheduler.type StepLR" works from nothing. */
      cJSON *made = last              ? cJSON_CreateString(value)
                    : segs[i + 1].name ? cJSON_CreateObject()
                                       : cJSON_CreateArray();
      if (!made) {
        st = spec_oom(c);
        break;
      }
      if (child) {
        spec_forget_overrides(c, child);
        replace_member(cur, child, made);
      } else if (!(segs[i].name ? cJSON_AddItemToObject(cur, name, made)
                                : cJSON_AddItemToArray(cur, made))) {
        cJSON_Delete(made);
        st = spec_oom(c);
        break;
      }
      child = made;
      if (last) {
        st = record(c, made, key);
        if (st != TC_OK) break;
      }
    }
    cur = child;
  }
  spec_pop(c, start);
  return st;
}
