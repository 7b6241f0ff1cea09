/* A memory cap for one run (`--max-memory`): the datasets, the loaders'
 * batch buffers and the training arena are charged against it before they
 * are allocated, so a run that would not fit stops at once with the sizes
 * in the message, instead of after minutes of loading or deep in swap.
 * (mem_budget.c) */
#ifndef TC_BUDGET_H
#define TC_BUDGET_H

#include <stdint.h>

#include "tc_status.h"

typedef enum tc_budget_kind {
  TC_BUDGET_DATASETS,
  TC_BUDGET_LOADERS, /* batch buffers and transform scratch */
  TC_BUDGET_ARENA,   /* parameters, gradients, optimizer state, activations */
  TC_BUDGET_NKINDS,
} tc_budget_kind;

typedef struct tc_mem_budget {
  uint64_t cap;                      /* bytes; 0: no cap */
  const char *name;                  /* for messages: "--max-memory 512M" */
  uint64_t used[TC_BUDGET_NKINDS];   /* charged so far, per kind */
} tc_mem_budget;

/* Reserves `bytes` of kind `kind` for `what` (a path, "the arena"). With no
 * budget (NULL) or no cap it only counts. Fails with TC_ERR_INPUT, naming
 * what, its size, everything reserved so far and the cap, if the total
 * would exceed the cap; nothing is reserved then. */
tc_status tc_mem_budget_charge(tc_mem_budget *b, tc_budget_kind kind, uint64_t bytes,
                               const char *what, tc_error *err);

/* "512 MiB", "1.5 GiB", "300 B": sizes in messages. */
const char *tc_mem_size_str(uint64_t bytes, char *buf, int size);

/* Parses a size: a number with an optional binary suffix K, M, G or T (also
 * KB/KiB, ...; 1K = 1024 bytes), e.g. "2G", "512M", "1.5G", "1048576".
 * Returns false for anything else, zero, or more than 2^63 bytes. */
_Bool tc_mem_size_parse(const char *s, uint64_t *out);

#endif
