/* Data paths in a spec: a relative path names a file in the spec's folder
 * (or below it), so a spec that travels with its data works from anywhere.
 * It may not leave that folder, by '..' or through a symbolic link: a spec
 * handed over with a model cannot point trainc at files elsewhere unless it
 * says so openly, with an absolute path (the user's explicit choice, such
 * as /usr/share/datasets/...). Paths from the command line are the user's
 * own and resolve against the current directory, unchecked. */
#include "spec_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static bool has_dotdot_component(const char *p) {
  while (*p) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') return true;
    p += n;
    while (*p == '/') p++;
  }
  return false;
}

tc_status spec_resolve_path(tc_spec_ctx *c, const cJSON *node, const char *given,
                            const char **out) {
  *out = given;
  if (given[0] == '/' || spec_override_of(c, node)) return TC_OK;
  const char *base = c->base_dir ? c->base_dir : ".";
  if (has_dotdot_component(given))
    return spec_fail(c, node, "'%s' leads out of the spec's folder '%s' with '..'; a relative "
                     "path stays inside it (write an absolute path to read elsewhere)",
                     given, base);
  if (c->base_dir) {
    size_t n = strlen(c->base_dir);
    const char *sep = n && c->base_dir[n - 1] == '/' ? "" : "/";
    if (!(*out = tc_arena_printf(c->arena, "%s%s%s", c->base_dir, sep, given)))
      return spec_oom(c);
  }
  /* A file that does not exist yet is reported by whoever opens it. */
  char real[PATH_MAX], real_base[PATH_MAX];
  if (!realpath(*out, real) || !realpath(base, real_base)) return TC_OK;
  size_t k = strlen(real_base);
  if (strncmp(real, real_base, k) == 0 && (real[k] == '/' || real_base[k - 1] == '/'))
    return TC_OK;
  return spec_fail(c, node, "'%s' resolves to '%s' through a symbolic link, outside the spec's "
                   "folder '%s' (write an absolute path to read elsewhere)", given, real,
                   real_base);
}
