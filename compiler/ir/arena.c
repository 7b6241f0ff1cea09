/* The compilation arena: chunked bump allocation, freed all at once.
 * Also the allocation-failure hook that tests use to prove error paths.
 *
 * Big blocks (tensor data) get a chunk of their own, mapped from the kernel:
 * it comes zeroed, so the pages nobody writes cost no memory (the zero
 * initializers of gradients and optimizer state: for ResNet-18 with Adam,
 * three copies of its 45 MB of weights that used to be resident from import
 * to exit), and tc_arena_release gives one back at once. Under
 * AddressSanitizer they come from calloc instead, so that overflows past
 * them are still caught. */
#include "ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define TC_ARENA_MAP_BIG 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TC_ARENA_MAP_BIG 0
#endif
#endif
#ifndef TC_ARENA_MAP_BIG
#define TC_ARENA_MAP_BIG 1
#endif

/* Blocks below this share 64 KiB chunks; the others have a zeroed chunk of
 * their own. */
enum { BIG_BLOCK = 1 << 16 };

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  bool own;    /* holds one big block, zeroed when it was made */
  bool mapped; /* from mmap, not malloc */
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

static void chunk_free(chunk *c) {
  if (c->mapped) munmap(c, sizeof(chunk) + c->size);
  else free(c);
}

void tc_arena_free(tc_arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    chunk_free(c);
  }
  free(a);
}

/* A zeroed chunk holding one big block of `need` bytes. */
static chunk *big_chunk(size_t need) {
  if (tc_alloc_should_fail()) return NULL;
  size_t bytes = sizeof(chunk) + need;
  chunk *c;
  if (TC_ARENA_MAP_BIG) {
    c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) return NULL;
  } else if (!(c = calloc(1, bytes))) {
    return NULL;
  }
  c->size = c->used = need;
  c->own = true;
  c->mapped = TC_ARENA_MAP_BIG;
  return c;
}

void *tc_arena_alloc(tc_arena *a, size_t size) {
  size_t need = (size + 15) & ~(size_t)15;
  if (need < size || need > SIZE_MAX - sizeof(chunk)) return NULL;
  if (need >= BIG_BLOCK) {
    chunk *c = big_chunk(need);
    if (!c) return NULL;
    /* behind the head, whose free space later small blocks still use */
    chunk **at = a->head ? &a->head->next : &a->head;
    c->next = *at;
    *at = c;
    return c->data;
  }
  chunk *c = a->head;
  if (!c || c->own || c->size - c->used < need) {
    c = tc_xmalloc(sizeof(chunk) + BIG_BLOCK);
    if (!c) return NULL;
    *c = (chunk){.next = a->head, .size = BIG_BLOCK};
    a->head = c;
  } else if (tc_alloc_should_fail()) {
    return NULL;
  }
  void *p = c->data + c->used;
  c->used += need;
  memset(p, 0, size);
  return p;
}

bool tc_arena_release(tc_arena *a, void *p) {
  for (chunk **at = &a->head; *at; at = &(*at)->next) {
    chunk *c = *at;
    if (!c->own || (void *)c->data != p) continue;
    *at = c->next;
    chunk_free(c);
    return true;
  }
  return false;
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
