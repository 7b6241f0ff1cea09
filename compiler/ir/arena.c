/* The compilation arena: chunked bump allocation, freed all at once.
 * Also the allocation-failure hook that tests use to prove error paths. */
#include "ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
} chunk;

struct tc_arena {
  chunk *head;
};

static long fail_countdown; /* 0: off; otherwise allocations left before one fails */
static bool fail_reached;   /* the countdown ran out since the last tc_alloc_fail_at */

void tc_alloc_fail_at(long n) {
  fail_countdown = n;
  fail_reached = false;
}

bool tc_alloc_should_fail(void) {
  if (fail_countdown <= 0) return false;
  if (--fail_countdown) return false;
  fail_reached = true;
  return true;
}

bool tc_alloc_fail_reached(void) { return fail_reached; }

void *tc_xmalloc(size_t size) {
  if (tc_alloc_should_fail()) return NULL;
  return malloc(size ? size : 1);
}

_Noreturn void tc_assert_fail(const char *cond, const char *file, int line) {
  fprintf(stderr, "trainc: internal error: %s:%d: assertion failed: %s\n", file,
          line, cond);
  abort();
}

tc_arena *tc_arena_new(void) {
  tc_arena *a = tc_xmalloc(sizeof *a);
  if (!a) return NULL;
  a->head = NULL;
  return a;
}

void tc_arena_free(tc_arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *tc_arena_alloc(tc_arena *a, size_t size) {
  size_t need = (size + 15) & ~(size_t)15;
  if (need < size) return NULL;
  chunk *c = a->head;
  if (!c || c->size - c->used < need) {
    size_t cap = need > (size_t)1 << 16 ? need : (size_t)1 << 16;
    if (cap > SIZE_MAX - sizeof(chunk)) return NULL;
    c = tc_xmalloc(sizeof(chunk) + cap);
    if (!c) return NULL;
    c->size = cap;
    c->used = 0;
    /* Keep the partly used head in front when a big block gets its own chunk. */
    if (a->head && need == cap) {
      c->next = a->head->next;
      a->head->next = c;
    } else {
      c->next = a->head;
      a->head = c;
    }
  } else if (tc_alloc_should_fail()) {
    return NULL;
  }
  void *p = c->data + c->used;
  c->used += need;
  memset(p, 0, size);
  return p;
}

char *tc_arena_strdup(tc_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = tc_arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

char *tc_arena_printf(tc_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *p = tc_arena_alloc(a, (size_t)n + 1);
  if (!p) return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
