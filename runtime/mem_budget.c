/* The --max-memory budget (tc_budget.h): charged before every large
 * allocation of a run. */
#include "tc_budget.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tc_mem_size_str(uint64_t bytes, char *buf, int size) {
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    snprintf(buf, (size_t)size, "%llu B", (unsigned long long)bytes);
    return buf;
  }
  double v = (double)bytes / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  snprintf(buf, (size_t)size, "%.1f %s", v, units[u]);
  return buf;
}

tc_status tc_mem_budget_charge(tc_mem_budget *b, tc_budget_kind kind, uint64_t bytes,
                               const char *what, tc_error *err) {
  if (!b) return TC_OK;
  uint64_t total = bytes;
  for (int k = 0; k < TC_BUDGET_NKINDS; k++)
    if (__builtin_add_overflow(total, b->used[k], &total)) total = UINT64_MAX;
  if (b->cap && total > b->cap) {
    char need[32], sum[32], cap[32], ds[32], ld[32], ar[32];
    return tc_fail(err, TC_ERR_INPUT,
                   "%s: %s (%s) would bring the run to %s, over the cap of %s (already "
                   "reserved: datasets %s, loader buffers %s, arena %s)",
                   b->name ? b->name : "memory cap", what, tc_mem_size_str(bytes, need, 32),
                   tc_mem_size_str(total, sum, 32), tc_mem_size_str(b->cap, cap, 32),
                   tc_mem_size_str(b->used[TC_BUDGET_DATASETS], ds, 32),
                   tc_mem_size_str(b->used[TC_BUDGET_LOADERS], ld, 32),
                   tc_mem_size_str(b->used[TC_BUDGET_ARENA], ar, 32));
  }
  b->used[kind] += bytes;
  return TC_OK;
}

bool tc_mem_size_parse(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9') return false;
  char *end;
  double v = strtod(s, &end);
  double scale = 1;
  const char *units = "KMGT";
  const char *u = *end ? strchr(units, *end & ~0x20) : NULL;
  if (u) {
    for (const char *p = units; p <= u; p++) scale *= 1024;
    end++;
    if (strcmp(end, "B") == 0 || strcmp(end, "iB") == 0) end += strlen(end);
  } else if (strcmp(end, "B") == 0) {
    end++;
  }
  if (*end || !isfinite(v)) return false;
  double bytes = floor(v * scale);
  if (bytes < 1 || bytes > 9223372036854775808.0) return false;
  *out = (uint64_t)bytes;
  return true;
}
